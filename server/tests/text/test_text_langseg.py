"""Language runs: the detector's pieces, the official segmenter's rules, the request-language merge."""

from __future__ import annotations

from gpt_sovits.text.langseg import LangRun, merge_for_request, segment


def test_punctuation_joins_the_previous_run() -> None:
    assert segment("Hello，我是小明，nice！") == [
        LangRun("en", "Hello，"),
        LangRun("zh", "我是小明，"),
        LangRun("en", "nice！"),
    ]
    assert segment("") == []
    assert segment("   ") == []


def test_marks_alone_are_labelled_as_punctuation() -> None:
    # The official frontend then reads such a run as a single English space (nothing to say).
    assert segment("...!") == [LangRun("punctuation", "...!")]


def test_numbers_between_runs_of_one_language_join_it() -> None:
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


def test_kana_and_hangul_inside_chinese_are_cut_out() -> None:
    assert segment("中文夹着ひらがな和한국어") == [
        LangRun("zh", "中文夹着"),
        LangRun("ja", "ひらがな"),
        LangRun("zh", "和"),
        LangRun("ko", "한국어"),
    ]


def test_default_language_keeps_english_and_takes_numbers() -> None:
    assert segment("I have 3个苹果", default="zh") == [LangRun("en", "I have "), LangRun("zh", "3个苹果")]
    assert segment("今日は3時", default="ja") == [LangRun("ja", "今日は3時")]


def test_merge_for_request_relabels_non_english_runs() -> None:
    runs = segment("日本語のテキストとEnglish")
    assert runs[-1] == LangRun("en", "English")
    merged = merge_for_request(runs, "zh")
    assert merged == [LangRun("zh", "日本語のテキストと"), LangRun("en", "English")]
    assert merge_for_request(segment("中文夹着ひらがな和한국어"), "ko") == [
        LangRun("ko", "中文夹着ひらがな和한국어")
    ]
