"""Language runs and the request-language merge."""

from __future__ import annotations

from gpt_sovits.text.langseg import LangRun, char_language, merge_for_request, segment


def test_char_languages() -> None:
    assert char_language("a") == "en"
    assert char_language("中") == "zh"
    assert char_language("の") == "ja"
    assert char_language("한") == "ko"
    assert char_language("1") is None
    assert char_language("，") is None


def test_neutral_characters_join_the_previous_run_or_lead_the_first() -> None:
    assert segment("3个apple，好") == [LangRun("zh", "3个"), LangRun("en", "apple，"), LangRun("zh", "好")]
    assert segment("123!") == [LangRun("en", "123!")]
    assert segment("") == []


def test_merge_for_request_relabels_non_english_runs() -> None:
    runs = segment("日本語のテキストとEnglish")
    merged = merge_for_request(runs, "zh")
    assert merged == [LangRun("zh", "日本語のテキストと"), LangRun("en", "English")]
