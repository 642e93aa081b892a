"""Sentence splitting: each cut method and the request-level preparation."""

from __future__ import annotations

import pytest

from gpt_sovits.errors import TextError
from gpt_sovits.text.split import cut, prepare_text, split_long


def test_cut0_keeps_text_but_not_bare_punctuation() -> None:
    assert cut("你好。再见。", "cut0") == "你好。再见。"
    assert cut("..., !", "cut0") == "\n"


def test_cut1_groups_four_sentences() -> None:
    text = "一。二。三。四。五。六。七。八。九。"
    assert cut(text, "cut1") == "一。二。三。四。\n五。六。七。八。九。"


def test_cut2_groups_about_fifty_chars() -> None:
    sentence = "这是一个比较长的句子用来测试按长度切分的方法，"
    out = cut(sentence * 6, "cut2").split("\n")
    assert len(out) > 1
    assert all(len(line) > 50 for line in out)


def test_cut3_and_cut4() -> None:
    assert cut("一。二。", "cut3") == "一\n二"
    assert cut("Pi is 3.14 ok. Next.", "cut4") == "Pi is 3.14 ok\n Next"


def test_cut5_splits_after_each_mark_but_not_decimals() -> None:
    assert cut("你好，世界！3.14 is pi.", "cut5") == "你好，\n世界！\n3.14 is pi."


def test_unknown_method_is_a_text_error() -> None:
    with pytest.raises(TextError, match="cut9"):
        cut("x", "cut9")


def test_prepare_text_pieces() -> None:
    pieces = prepare_text("今天天气很好，我们出去玩吧", "zh", "cut5")
    assert pieces == ["今天天气很好，", "我们出去玩吧。"]


def test_prepare_text_short_first_phrase_gets_a_leading_stop() -> None:
    assert prepare_text("Hi, how are you", "en", "cut0") == [".Hi, how are you."]


def test_prepare_text_merges_short_pieces_and_skips_symbols() -> None:
    # "。" is prepended (short first phrase), dropped by cut5 as bare, and short pieces merge.
    assert prepare_text("好。行。可以吗？", "zh", "cut5") == ["好。行。可以吗？"]
    assert prepare_text("", "zh", "cut5") == []


def test_prepare_text_rejects_bare_punctuation() -> None:
    with pytest.raises(TextError):
        prepare_text("。。。", "zh", "cut5")


def test_long_text_is_bounded() -> None:
    pieces = split_long("很长的句子，" * 200)
    assert all(len(p) <= 510 for p in pieces)
    assert "".join(pieces) == "很长的句子，" * 200
