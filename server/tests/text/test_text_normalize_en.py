"""English normalisation: numbers, money, times, units, fractions, ordinals, acronyms."""

from __future__ import annotations

import pytest

from gpt_sovits.text.normalize_en import normalize_en


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("I have 3 apples", "I have three apples"),  # integer
        ("25 oranges", "twenty-five oranges"),
        ("120 cats", "one hundred twenty cats"),  # no "and" in cardinals
        ("about 1,000,000 people", "about one million people"),  # thousands separators
        ("in 1984", "in nineteen eighty-four"),  # years read in pairs
        ("in 2005", "in two thousand five"),
        ("in 1900", "in nineteen hundred"),
        ("Pi is 3.14", "Pi is three point one four"),  # decimal
        ("one 3/4 and 1/2 and 3/2", "one three fourths and one half and three halves"),  # fractions
        ("1st and 22nd", "first and twenty-second"),  # ordinals
        ("1. first", "first, first"),  # numbered list item
        ("at 7:30", "at seven thirty a.m."),  # time
        ("at 13:00", "at one o'clock p.m."),
        ("It costs $12.50", "It costs twelve dollars and fifty cents"),  # currency
        ("32.3$", "thirty-two dollars and thirty cents"),
        ("$1", "one dollar"),
        ("It costs £7.14", "It costs seven pounds and fourteen pence"),
        ("10% off", "ten percent off"),  # percent
        ("run 5km and 1m", "run five kilometers and one meter"),  # units
        ("3 + 4 = 7", "three plus four Equals seven"),  # arithmetic
        ("i.e. e.g.", "that is for example"),  # abbreviations
        ("Café naïve", "Cafe naive"),  # accents stripped
        ("NASA", "N A S A"),  # acronyms spelt
        ("GitHub", "Git Hub"),  # CamelCase split
        ("Wow!!!", "Wow!"),  # repeated punctuation
        ("好。对！吗？", "."),  # full-width stops map to ASCII, CJK is dropped, the run collapses
    ],
)
def test_rules(text: str, norm: str) -> None:
    assert normalize_en(text) == norm


def test_negative_number_keeps_its_space() -> None:
    assert normalize_en("a -5 b") == "a negative five b"
