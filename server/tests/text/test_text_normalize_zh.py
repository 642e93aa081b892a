"""Chinese normalisation: one test per rule (numbers, dates, times, units, phones, punctuation)."""

from __future__ import annotations

import pytest

from gpt_sovits.text.normalize_zh import normalize_zh, split_sentences
from gpt_sovits.text.zh_numbers import read_cardinal, read_digits, read_number


@pytest.mark.parametrize(
    ("digits", "reading"),
    [
        ("0", "零"),
        ("7", "七"),
        ("10", "十"),
        ("15", "十五"),
        ("20", "二十"),
        ("105", "一百零五"),
        ("1234", "一千二百三十四"),
        ("10086", "一万零八十六"),
        ("100000000", "一亿"),
        ("000", "零"),
    ],
)
def test_cardinals(digits: str, reading: str) -> None:
    assert read_cardinal(digits) == reading


def test_digit_by_digit_and_yao() -> None:
    assert read_digits("2024") == "二零二四"
    assert read_digits("110", yao=True) == "幺幺零"


@pytest.mark.parametrize(
    ("value", "reading"), [("23.5", "二十三点五"), (".5", "零点五"), ("3.20", "三点二零"), ("12", "十二")]
)
def test_decimals(value: str, reading: str) -> None:
    assert read_number(value) == reading


def test_more_than_one_decimal_point_is_rejected() -> None:
    with pytest.raises(ValueError, match="decimal point"):
        read_number("1.2.3")


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("2024年3月15日", "二零二四年三月十五日"),  # date
        ("2024-03-15", "二零二四年三月十五日"),  # numeric date
        ("下午3:05开会", "下午三点零五分开会"),  # time
        ("8:30-12:30", "八点半至十二点半"),  # time range
        ("-3°C", "零下三度"),  # temperature
        ("23.5摄氏度", "二十三点五度"),  # temperature, as the reference reads it
        ("3/4", "四分之三"),  # fraction
        ("增长了-5%", "增长了负百分之五"),  # percentage
        ("50%", "百分之五十"),
        ("13812345678", "幺三八幺二三四五六七八"),  # mobile phone
        ("电话010-12345678", "电话零幺零,幺二三四五六七八"),  # land line
        ("拨打400-123-4567", "拨打四零零,幺二三,四五六七"),  # service number
        ("1-3天", "一到三天"),  # range
        ("温度是-10", "温度是负十"),  # negative
        ("0.5", "零点五"),  # decimal
        ("共有2个人", "共有两个人"),  # count: 2 reads 两 before a measure word
        ("他有10+个苹果", "他有十多个苹果"),  # approximate count
        ("编号00078", "编号零零零七八"),  # long digit strings are read digit by digit
        ("长5cm宽3m", "长五厘米宽三米"),  # units
        ("１２３", "幺二三"),  # full-width digits
        ("α粒子", "阿尔法粒子"),  # Greek letters
        ("①", "一"),  # circled numbers
        ("1,234元", "一,二百三十四元"),  # thousands separator splits, as the reference does
    ],
)
def test_rules(text: str, norm: str) -> None:
    assert normalize_zh(text) == norm


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("你好，世界。", "你好,世界."),
        ("真的吗？！", "真的吗?"),  # repeated punctuation keeps the first
        # "…" survives the sentence split (the reference revision's normaliser, as its Cantonese
        # golden shows) and a run of marks then collapses to its first.
        ("等等……好", "等等…好"),
        ("等一下～好", "等一下…好"),
        ("《书名》", "书名"),  # brackets dropped
        ("嗯，呣。", "恩,母."),  # interjections without a v2 reading
        ("他说：“走吧！”", "他说,走吧!"),
        ("中文abc混合", "中文混合"),  # Latin letters are not Chinese
        ("a、b；c", ","),  # letters go, then the two marks collapse
        ("😀🎉", ""),
    ],
)
def test_punctuation_and_filtering(text: str, norm: str) -> None:
    assert normalize_zh(text) == norm


def test_sentence_split_keeps_marks_on_the_left() -> None:
    assert split_sentences("你好，世界！再见") == ["你好，", "世界！", "再见"]
