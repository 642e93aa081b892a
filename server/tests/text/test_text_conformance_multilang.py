"""The frontend reproduces every entry of the official Japanese, Korean and Cantonese goldens exactly.

The folder (``GSV_TEXT_CONFORMANCE_DIR``) may hold another corpus made the same way: nothing here
depends on the number of entries or on particular sentences.
"""

from __future__ import annotations

from typing import Any

from gpt_sovits.errors import TextError
from gpt_sovits.text.frontend import PhoneSequence, clean_text, language_runs, text_to_phones
from gpt_sovits.text.langseg import segment
from gpt_sovits.text.request import target_phones
from gpt_sovits.text.split import prepare_text


def _word2ph(part: PhoneSequence) -> list[int] | None:
    return list(part.word2ph) if part.word2ph is not None else None


def _assert_part(part: PhoneSequence, expected: dict[str, Any]) -> None:
    assert (part.language, part.text, part.norm_text) == (
        expected["language"],
        expected["text"],
        expected["norm_text"],
    )
    assert list(part.phones) == expected["phones"]
    assert list(part.phone_ids) == expected["phone_ids"]
    assert _word2ph(part) == expected["word2ph"]


def test_every_golden_file_is_loaded(multilang_goldens: tuple[dict[str, Any], ...]) -> None:
    assert {g["language"] for g in multilang_goldens} >= {"ja", "ko", "yue"}
    assert all(g["cases"] and g["mixed"] and g["pipeline"] and g["lang_segments"] for g in multilang_goldens)


def test_clean_text_matches_golden(ml_case: dict[str, Any]) -> None:
    result = clean_text(ml_case["text"], ml_case["language"])
    assert result.norm_text == ml_case["norm_text"]
    assert list(result.phones) == ml_case["phones"]
    assert list(result.phone_ids) == ml_case["phone_ids"]
    assert _word2ph(result) == ml_case["word2ph"]


def test_language_segments_match_golden(ml_segments: tuple[str, str | None, list[dict[str, str]]]) -> None:
    text, default, expected = ml_segments
    assert [(run.lang, run.text) for run in segment(text, default)] == [
        (s["lang"], s["text"]) for s in expected
    ]


def test_mixed_text_matches_golden(ml_mixed: dict[str, Any]) -> None:
    language = ml_mixed["request_language"]
    result = text_to_phones(ml_mixed["text"], language)
    assert result.phone_ids == ml_mixed["phone_ids"]
    assert result.phones == ml_mixed["phones"]
    assert result.norm_text == ml_mixed["norm_text"]
    assert ml_mixed["bert_shape"] == [1024, len(result.phone_ids)]
    attempts = ml_mixed["attempts"]
    # The retry with a leading "." happens exactly when the golden made one.
    assert result.text == attempts[-1]["input"]
    assert (len(attempts) == 2) == (result.text != ml_mixed["text"])
    for attempt in attempts:
        runs = language_runs(attempt["input"], language)
        parts = [clean_text(run.text, run.lang) for run in runs]
        assert len(parts) == len(attempt["parts"])
        for part, expected in zip(parts, attempt["parts"], strict=True):
            _assert_part(part, expected)
    assert len(result.parts) == len(attempts[-1]["parts"])
    for part, expected in zip(result.parts, attempts[-1]["parts"], strict=True):
        _assert_part(part, expected)


def test_pipeline_matches_golden(ml_pipeline: dict[str, Any]) -> None:
    text, language, method = (
        ml_pipeline["text"],
        ml_pipeline["request_language"],
        ml_pipeline["text_split_method"],
    )
    results = target_phones(text, language, method)
    expected = ml_pipeline["segments"]
    assert [r.norm_text for r in results] == [s["norm_text"] for s in expected]
    assert [r.phone_ids for r in results] == [s["phone_ids"] for s in expected]
    assert [r.phones for r in results] == [s["phones"] for s in expected]
    assert [[1024, len(r.phone_ids)] for r in results] == [s["bert_shape"] for s in expected]
    inputs: list[str] = []
    for piece in prepare_text(text, language, method):
        inputs.append(piece)
        try:
            read = text_to_phones(piece, language).text
        except TextError:
            continue
        if read != piece:
            inputs.append(read)
    assert inputs == ml_pipeline["get_phones_and_bert_inputs"]
