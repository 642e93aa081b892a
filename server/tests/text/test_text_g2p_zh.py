"""Chinese g2p: polyphones in context, 不/一/third-tone/neutral sandhi, erhua, pinyin mapping."""

from __future__ import annotations

import pytest
from pypinyin import Style, lazy_pinyin, pinyin_dict
from pypinyin.contrib.tone_convert import to_finals, to_initials, to_normal

from gpt_sovits.errors import TextError
from gpt_sovits.text.frontend import clean_text
from gpt_sovits.text.g2p_zh import g2p_zh
from gpt_sovits.text.pinyin_phones import pinyin_to_phones, spoken_syllable, syllable_phones
from gpt_sovits.text.symbols import symbol_to_id


def _finals(text: str) -> list[str]:
    phones = clean_text(text, "zh").phones
    return list(phones[1::2])


@pytest.mark.parametrize(
    ("word", "finals"),
    [
        ("银行", ["in2", "ang2"]),  # 行 hang
        ("行走", ["ing2", "ou3"]),  # 行 xing
        ("重要", ["ong4", "ao4"]),  # 重 zhong
        ("重新", ["ong2", "in1"]),  # 重 chong
        ("长大", ["ang3", "a4"]),  # 长 zhang
        ("音乐", ["in1", "ve4"]),  # 乐 yue
        ("快乐", ["uai4", "e4"]),  # 乐 le
    ],
)
def test_polyphones_read_in_word_context(word: str, finals: list[str]) -> None:
    assert _finals(word) == finals


@pytest.mark.parametrize(
    ("word", "finals"),
    [
        ("不怕", ["u2", "a4"]),  # 不 before a 4th tone → 2nd
        ("不好", ["u4", "ao3"]),
        ("看不懂", ["an4", "u5", "ong3"]),  # 不 inside V不V → neutral
        ("一段", ["i2", "uan4"]),  # 一 before a 4th tone → 2nd
        ("一天", ["i4", "ian1"]),  # 一 before other tones → 4th
        ("看一看", ["an4", "i5", "an4"]),  # reduplication → neutral
        ("第一", ["i4", "i1"]),  # ordinal keeps 1st
        ("一二三", ["i1", "er4", "an1"]),  # inside a number keeps 1st
        ("你好", ["i2", "ao3"]),  # third-tone sandhi
        ("展览馆", ["an2", "an2", "uan3"]),  # 2+1 all third tones
        ("纸老虎", ["ir3", "ao2", "u3"]),  # 1+2 all third tones
        ("奶奶", ["ai3", "ai5"]),  # reduplicated noun → neutral
        ("朋友们", ["eng2", "ou5", "en5"]),  # 们 neutral, listed word 朋友
        ("走了", ["ou3", "e5"]),  # aspect particle
        ("这个", ["e4", "e5"]),  # measure 个
    ],
)
def test_tone_sandhi(word: str, finals: list[str]) -> None:
    assert _finals(word) == finals


@pytest.mark.parametrize(
    ("word", "finals"),
    [
        ("小院儿", ["iao3", "van4", "er4"]),  # must-erhua word: 儿 takes the previous tone
        ("玩儿", ["an2", "er2"]),
        ("女儿", ["v3", "er2"]),  # listed as not erhua: 儿 stays er2
        ("花儿", ["ua1", "er2"]),
    ],
)
def test_erhua(word: str, finals: list[str]) -> None:
    assert _finals(word) == finals


def test_word2ph_counts_two_per_character_and_one_per_mark() -> None:
    phones, word2ph = g2p_zh("你好,世界.")
    assert word2ph == [2, 2, 1, 2, 2, 1]
    assert sum(word2ph) == len(phones)


@pytest.mark.parametrize(
    ("syllable", "phones"),
    [
        ("a", ("AA", "a")),
        ("er", ("EE", "er")),
        ("ou", ("OO", "ou")),
        ("yan", ("y", "En")),
        ("ye", ("y", "E")),
        ("yu", ("y", "v")),
        ("yuan", ("y", "van")),
        ("yun", ("y", "vn")),
        ("wu", ("w", "u")),
        ("zhi", ("zh", "ir")),
        ("ri", ("r", "ir")),
        ("si", ("s", "i0")),
        ("ju", ("j", "v")),
        ("xue", ("x", "ve")),
        ("qun", ("q", "vn")),
        ("lve", ("l", "ve")),
        ("gui", ("g", "ui")),
    ],
)
def test_syllable_mapping(syllable: str, phones: tuple[str, str]) -> None:
    assert syllable_phones(syllable) == phones


def test_strict_finals_are_respelled() -> None:
    assert spoken_syllable("h", "uei") == "hui"
    assert spoken_syllable("", "iou") == "you"
    assert spoken_syllable("", "ing") == "ying"
    assert spoken_syllable("", "v") == "yu"


def test_every_pypinyin_syllable_maps_into_the_v2_table() -> None:
    table = symbol_to_id()
    syllables: set[str] = set()
    for readings in pinyin_dict.pinyin_dict.values():
        for reading in readings.split(","):
            syllables.add(to_normal(reading))
    mapped = 0
    for syllable in syllables:
        if syllable in {"m", "n", "ng", "hm", "hng", "ê", "r"} or not syllable.isascii():
            continue  # interjection syllables with no v2 phones (dropped during normalisation)
        initial = to_initials(syllable, strict=True)
        final = to_finals(syllable, strict=True)
        consonant, vowel = pinyin_to_phones(initial, final + "1")
        assert consonant in table
        assert vowel in table
        mapped += 1
    assert mapped > 380
    assert Style.TONE3  # the style the readings above use


def test_unmappable_syllable_is_a_text_error() -> None:
    with pytest.raises(TextError):
        pinyin_to_phones("h", "m5")
    with pytest.raises(TextError):
        pinyin_to_phones("b", "a")


def test_a_sentence_reader_replaces_pypinyin_readings() -> None:
    """The hook G2PW plugs into: one TONE3 reading per character of the sentence."""

    def reader(sentence: str) -> list[str]:
        readings = lazy_pinyin(sentence, style=Style.TONE3, neutral_tone_with_five=True)
        return ["chang2" if ch == "长" else r for ch, r in zip(sentence, readings, strict=True)]

    assert clean_text("很长", "zh").phones == ("h", "en2", "zh", "ang3")  # pypinyin's phrase reading
    assert clean_text("很长", "zh", reader=reader).phones == ("h", "en3", "ch", "ang2")
    assert clean_text("你好,世界.", "zh", reader=reader).phones == clean_text("你好,世界.", "zh").phones
