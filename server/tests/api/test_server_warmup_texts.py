"""The warm-up's sentences: one per transcript language, each one sentence as requests cut it."""

from __future__ import annotations

import pytest

from gpt_sovits import defaults
from gpt_sovits.text.split import prepare_text
from voice_server.lifecycle import WARMUP_STREAM_TEXT, WARMUP_TEXT, stream_warmup_language
from voice_server.speakers import Speaker


@pytest.mark.parametrize("language", sorted(WARMUP_STREAM_TEXT))
def test_each_stream_warm_up_text_is_one_sentence(language: str) -> None:
    # One sentence: its rows decode side by side, long enough for a few token chunks each.
    pieces = prepare_text(WARMUP_STREAM_TEXT[language], language, defaults.TEXT_SPLIT_METHOD)
    assert len(pieces) == 1
    assert len(pieces[0]) > len(WARMUP_TEXT[language])


@pytest.mark.parametrize(
    ("prompt_language", "expected"),
    [("zh", "zh"), ("all_ja", "ja"), ("yue", "yue"), ("auto", "en"), ("fr", "en")],
)
def test_stream_warm_up_speaks_the_speakers_language(prompt_language: str, expected: str) -> None:
    speaker = Speaker(id="s", ref_audio="ref.wav", prompt_text="", prompt_language=prompt_language)
    assert stream_warmup_language(speaker) == expected
