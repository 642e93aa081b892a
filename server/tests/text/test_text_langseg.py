"""Language runs, number placement and the request-language merge."""

from __future__ import annotations

from gpt_sovits.text.langseg import LangRun, char_language, merge_for_request, segment


def test_char_languages() -> None:
    assert char_language("a") == "en"
    assert char_language("中") == "zh"
    assert char_language("の") == "ja"
    assert char_language("한") == "ko"
    assert char_language("1") is None
    assert char_language("，") is None


def test_punctuation_joins_the_previous_run() -> None:
    assert segment("Hello，我是小明，nice！") == [
        LangRun("en", "Hello，"),
        LangRun("zh", "我是小明，"),
        LangRun("en", "nice！"),
    ]
    assert segment("...!") == [LangRun("en", "...!")]
    assert segment("") == []


def test_numbers_between_runs_of_one_language_join_it() -> None:
    assert segment("今天是2024年3月15日") == [LangRun("zh", "今天是2024年3月15日")]
    assert segment("I have 3 apples") == [LangRun("en", "I have 3 apples")]


def test_numbers_after_a_clause_join_the_next_run() -> None:
    assert segment("Hello.3个人") == [LangRun("en", "Hello."), LangRun("zh", "3个人")]


def test_numbers_join_the_longer_neighbour() -> None:
    assert segment("I have 3个") == [LangRun("en", "I have 3"), LangRun("zh", "个")]
    assert segment("我用3 apples and pears") == [LangRun("zh", "我用"), LangRun("en", "3 apples and pears")]


def test_numbers_at_the_edges_and_alone() -> None:
    assert segment("3个apple") == [LangRun("zh", "3个"), LangRun("en", "apple")]
    assert segment("apple 3") == [LangRun("en", "apple 3")]
    assert segment("123") == [LangRun("zh", "123")]


def test_forced_language_keeps_english_and_takes_numbers() -> None:
    assert segment("I have 3个苹果", forced_language="zh") == [
        LangRun("en", "I have "),
        LangRun("zh", "3个苹果"),
    ]


def test_merge_for_request_relabels_non_english_runs() -> None:
    runs = segment("日本語のテキストとEnglish")
    merged = merge_for_request(runs, "zh")
    assert merged == [LangRun("zh", "日本語のテキストと"), LangRun("en", "English")]
