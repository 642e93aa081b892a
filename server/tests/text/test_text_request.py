"""Request-level processing: target pieces and the prompt text."""

from __future__ import annotations

import pytest

from gpt_sovits.errors import TextError, UnsupportedLanguageError
from gpt_sovits.text.request import prompt_phones, target_phones


def test_target_text_is_cut_into_pieces() -> None:
    results = target_phones("今天天气很好，我们出去玩吧。Let's go!", "zh", "cut5")
    assert [r.norm_text for r in results] == ["今天天气很好,", "我们出去玩吧.", "Let's go!"]


def test_cut0_keeps_one_piece() -> None:
    results = target_phones("今天天气很好，我们出去玩吧", "zh", "cut0")
    assert len(results) == 1
    assert results[0].norm_text == "今天天气很好,我们出去玩吧."


def test_silent_pieces_are_skipped_but_an_all_silent_text_is_an_error() -> None:
    results = target_phones("你好世界啊。😀😀😀😀😀😀。再见了朋友。", "zh", "cut5")
    assert [r.norm_text for r in results] == ["你好世界啊.", "再见了朋友."]
    with pytest.raises(TextError):
        target_phones("😀😀😀😀😀。", "zh", "cut5")


def test_unknown_language_fails_first() -> None:
    with pytest.raises(UnsupportedLanguageError, match="use one of"):
        target_phones("こんにちは", "jp")


def test_prompt_gets_a_final_stop() -> None:
    assert prompt_phones("你好世界", "zh").norm_text == "你好世界."
    assert prompt_phones("hello there\n", "en").norm_text == "hello there."
