"""English g2p: lexicon, letters, acronyms, possessives, compounds, OOV rules, homographs."""

from __future__ import annotations

import pytest

from gpt_sovits.text import en_lexicon
from gpt_sovits.text.en_homographs import HOMOGRAPHS, resolve
from gpt_sovits.text.en_oov import predict
from gpt_sovits.text.g2p_en import g2p_en, tokenize, word_phones
from gpt_sovits.text.symbols import symbol_to_id


def test_tokenizer_keeps_inner_apostrophes_and_hyphens() -> None:
    assert tokenize("It's twenty-five, o'clock a.m. Yes...") == [
        "It's",
        "twenty-five",
        ",",
        "o'clock",
        "a",
        ".",
        "m",
        ".",
        "Yes",
        "...",
    ]


def test_lexicon_words_and_overrides() -> None:
    assert g2p_en("hello") == ["HH", "AH0", "L", "OW1"]
    assert g2p_en("oranges") == ["AO1", "R", "IH0", "N", "JH", "IH0", "Z"]  # project override
    assert en_lexicon.lookup("ios") is None  # removed: spelt as letters instead


def test_single_letters_and_acronyms() -> None:
    assert g2p_en("A") == ["EY1"]  # the letter A
    assert g2p_en("a") == ["AH0"]  # the article
    assert g2p_en("F B I") == ["EH1", "F", "B", "IY1", "AY1"]


def test_short_unknown_words_are_spelt() -> None:
    assert word_phones("ai") == ["EY1", "AY1"]


def test_possessive() -> None:
    assert word_phones("smith's") == ["S", "M", "IH1", "TH", "S"]
    assert word_phones("zhangwei's")[-1] == "Z"


def test_unknown_words_are_split_as_the_reference_splits_them() -> None:
    # wordsegment's corpus split ("S24" normalises to "Stwenty-four"): a letter, then two words.
    assert word_phones("stwenty-four") == ["EH1", "S", *word_phones("twenty"), *word_phones("four")]


def test_compound_split_into_lexicon_words() -> None:
    assert word_phones("snowboardshop") == [*word_phones("snowboard"), *word_phones("shop")]


@pytest.mark.parametrize(
    ("word", "stem", "tail"),
    [
        ("vectorized", "vector", ["AY2", "Z", "D"]),
        ("unzipping", "unzip", ["IH0", "NG"]),  # doubled consonant
        ("blogged", "blog", ["D"]),
        ("friended", "friend", ["IH0", "D"]),
        ("bookmarked", "bookmark", ["T"]),
        ("webinars", "webinar", ["Z"]),
    ],
)
def test_inflected_forms_of_lexicon_words(word: str, stem: str, tail: list[str]) -> None:
    assert en_lexicon.lookup(word) is None
    assert word_phones(word) == [*word_phones(stem), *tail]


def test_words_without_vowels_are_spelt() -> None:
    assert word_phones("llms") == ["EH1", "L", "EH1", "L", "EH1", "M", "EH1", "S"]


def test_oov_rules_give_valid_stressed_arpabet() -> None:
    table = symbol_to_id()
    phones = predict("xqzbrtlk")
    assert phones
    assert all(p in table for p in phones)
    assert predict("blick") == ["B", "L", "IH1", "K"]
    assert predict("shote") == ["SH", "AA1", "T"]  # silent final e
    assert predict("blorpness")[-2:] == ["EH0", "S"]  # doubled letter, one sound


@pytest.mark.parametrize(
    ("sentence", "reading"),
    [
        ("I will read it", ["R", "IY1", "D"]),
        ("I have read it", ["R", "EH1", "D"]),
        ("we live here", ["L", "IH1", "V"]),
        ("a live show", ["L", "AY1", "V"]),
        ("to record music", ["R", "IH0", "K", "AO1", "R", "D"]),
        ("the record", ["R", "EH1", "K", "ER0", "D"]),
        ("please close it", ["K", "L", "OW1", "Z"]),
        ("a close call", ["K", "L", "OW1", "S"]),
    ],
)
def test_homographs_resolved_by_context(sentence: str, reading: list[str]) -> None:
    phones = g2p_en(sentence)
    joined = " ".join(phones)
    assert " ".join(reading) in joined


def test_homograph_table_is_valid() -> None:
    table = symbol_to_id()
    for entry in HOMOGRAPHS.values():
        for reading in (entry.verb, entry.other, entry.past or ()):
            assert all(p in table for p in reading)
    assert resolve("hello", None) is None


def test_apostrophe_becomes_dash_and_unknown_marks_drop() -> None:
    assert g2p_en("' ; x") == ["-", "EH1", "K", "S"]
