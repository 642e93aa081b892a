"""The frontend reproduces every entry of the official v2 frontend golden file exactly."""

from __future__ import annotations

from typing import Any

from gpt_sovits.text.frontend import clean_text, text_to_phones
from gpt_sovits.text.langseg import segment
from gpt_sovits.text.split import cut


def test_clean_text_matches_golden(golden_case: dict[str, Any]) -> None:
    result = clean_text(golden_case["text"], golden_case["language"])
    assert result.norm_text == golden_case["norm_text"]
    assert list(result.phones) == golden_case["phones"]
    assert list(result.phone_ids) == golden_case["phone_ids"]
    expected_word2ph = golden_case["word2ph"]
    assert (list(result.word2ph) if result.word2ph is not None else None) == expected_word2ph


def test_mixed_text_matches_golden(golden_mixed: dict[str, Any]) -> None:
    result = text_to_phones(golden_mixed["text"], golden_mixed["request_language"])
    assert result.phone_ids == golden_mixed["phone_ids"]
    assert len(result.parts) == len(golden_mixed["parts"])
    for part, expected in zip(result.parts, golden_mixed["parts"], strict=True):
        assert (part.language, part.text, part.norm_text) == (
            expected["language"],
            expected["text"],
            expected["norm_text"],
        )
        assert list(part.phones) == expected["phones"]
        assert list(part.phone_ids) == expected["phone_ids"]
        assert (list(part.word2ph) if part.word2ph is not None else None) == expected["word2ph"]


def test_language_segments_match_golden(golden_segments: dict[str, Any]) -> None:
    got = [(run.lang, run.text) for run in segment(golden_segments["text"])]
    assert got == [(seg["lang"], seg["text"]) for seg in golden_segments["segments"]]


def test_cut_methods_match_golden(golden: dict[str, Any], golden_cut: tuple[str, str]) -> None:
    method, expected = golden_cut
    assert cut(golden["cut_input"], method) == expected
