"""English text normalisation: numbers, ordinals, money, times, units, fractions, acronyms.

Reproduces the official v2 English normaliser: numbers are spelt out with ``inflect``, ALL-CAPS
words and CamelCase are split into letters/parts ("NASA" → "N A S A", "GitHub" → "Git Hub"), and
only ``A-Z a-z ' . , ? ! -`` and spaces survive.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import inflect

from gpt_sovits.text.symbols import PUNCTUATION

# Unit suffix → (singular, plural) reading.
_UNITS: dict[str, tuple[str, str]] = {
    "m": ("meter", "meters"),
    "km": ("kilometer", "kilometers"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "ft": ("feet", "feet"),
    "L": ("liter", "liters"),
    "tbsp": ("tablespoon", "tablespoons"),
    "tsp": ("teaspoon", "teaspoons"),
    "h": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "s": ("second", "seconds"),
    "°C": ("degree celsius", "degrees celsius"),
    "°F": ("degree fahrenheit", "degrees fahrenheit"),
}
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_HUGE_NUMBER = re.compile(r"[0-9]{31,}")
_LIST_NUMBER = re.compile(r"\b([0-9]+)\. ")
_ARITHMETIC_OPERAND = (
    r"((-?)((\d+)(\.\d+)?[⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ]*)|(\.\d+[⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ]*)|([A-Za-z][⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ]*))"
)
_ARITHMETIC = re.compile(_ARITHMETIC_OPERAND + r"\s+([+\-×÷=])\s+" + _ARITHMETIC_OPERAND)
_OPERATORS = {"+": " plus ", "-": " minus ", "×": " times ", "÷": " divided by ", "=": " Equals "}
_NEGATIVE = re.compile(r"(^|\s+)-(\d+)")
_THOUSANDS = re.compile(r"([0-9][0-9,]+[0-9])")
_TIME = re.compile(r"\b([01]?[0-9]|2[0-3]):([0-5][0-9])\b")
_MEASUREMENT = re.compile(r"\b([0-9]+(\.[0-9]+)?(m|km|km/h|ft|L|tbsp|tsp|h|min|s|°C|°F))\b")
# "[0-9.,]*[0-9]" matches exactly what the reference's "[0-9.,]*[0-9]+" matches (the run up to its
# last digit), and a look-behind that forbids starting inside a run changes no match (a match inside
# a run implies one at its start, further left); both keep long digit strings linear.
_POUNDS_BEFORE = re.compile(r"£([0-9.,]*[0-9])")
_POUNDS_AFTER = re.compile(r"(?<![0-9.,])([0-9.,]*[0-9])£")
_DOLLARS_BEFORE = re.compile(r"\$([0-9.,]*[0-9])")
_DOLLARS_AFTER = re.compile(r"(?<![(0-9.,])([(0-9.,]*[0-9])\$")
_DECIMAL = re.compile(r"(?<![0-9])([0-9]+\.\s*[0-9]+)")
_FRACTION = re.compile(r"(?<![0-9])([0-9]+/[0-9]+)")
_ORDINAL = re.compile(r"(?<![0-9])[0-9]+(st|nd|rd|th)")
_INTEGER = re.compile(r"[0-9]+")
_NOT_KEPT = re.compile(r"[^ A-Za-z'.,?!\-]")
_CAPITAL_INSIDE_WORD = re.compile(r"(?<!^)(?<!\s)([A-Z])")
_PUNCT_CLASS = "".join(re.escape(p) for p in PUNCTUATION)
_REPEATED_PUNCT = re.compile(rf"([{_PUNCT_CLASS}\s])([{_PUNCT_CLASS}])+")


@lru_cache(maxsize=1)
def _engine() -> inflect.engine:
    return inflect.engine()


@lru_cache(maxsize=8192)
def _words(number: int, andword: str = "and", pairs: bool = False) -> str:
    """Spell a number; ``pairs`` reads it in two-digit groups (years: nineteen eighty-four).

    Memoised: inflect spends most of English normalisation time here.
    """
    try:
        if pairs:
            return str(_engine().number_to_words(str(number), andword=andword, zero="oh", group=2))
        return str(_engine().number_to_words(str(number), andword=andword))
    except inflect.NumOutOfRangeError:
        # Beyond the named powers of ten (~10^33): read the digits one by one.
        return " ".join(_DIGIT_WORDS[int(d)] for d in str(number))


@lru_cache(maxsize=8192)
def _inflect_ordinal(value: str) -> str:
    """inflect's ordinal of a number or number words ("1" → "1st", "four" → "fourth"), memoised."""
    return str(_engine().ordinal(value))


@lru_cache(maxsize=8192)
def _ordinal_words(value: str) -> str:
    """An ordinal like "22nd" in words ("twenty-second"), memoised."""
    return str(_engine().number_to_words(value))


def _list_number(m: re.Match[str]) -> str:
    return _inflect_ordinal(m.group(1)) + ", "


def _arithmetic(m: re.Match[str]) -> str:
    return m.group(1) + _OPERATORS[m.group(8)] + m.group(9)


def _time(m: re.Match[str]) -> str:
    hours, minutes = int(m.group(1)), int(m.group(2))
    period = "a.m." if hours < 12 else "p.m."
    hours = hours - 12 if hours > 12 else hours
    if minutes == 0:
        return f"{_words(hours)} o'clock {period}"
    return f"{_words(hours)} {_words(minutes)} {period}"


def _measurement(m: re.Match[str]) -> str:
    unit = m.group(3)
    # Singular only for an integer 1 ("1 meter", but "1.0 meters" and "0.1 meters").
    singular = m.group(2) is None and int(m.group(1).replace(unit, "").replace(".", "")) == 1
    return m.group(1).replace(unit, " " + _UNITS[unit][0 if singular else 1])


def _money(amount: str, unit: tuple[str, str], sub: tuple[str, str], zero: str) -> str:
    parts = amount.split(".")
    if len(parts) > 2:
        return f"{amount} {unit[1]}"
    # Only digits count (the amount may carry stray "," or "(" from the match).
    major_digits = re.sub(r"\D", "", parts[0])
    minor_digits = re.sub(r"\D", "", parts[1]) if len(parts) > 1 else ""
    major = int(major_digits) if major_digits else 0
    minor = int(minor_digits.ljust(2, "0")) if minor_digits else 0
    pieces = []
    if major:
        pieces.append(f"{major} {unit[0] if major == 1 else unit[1]}")
    if minor:
        pieces.append(f"{minor} {sub[0] if minor == 1 else sub[1]}")
    return " and ".join(pieces) if pieces else zero


def _pounds(m: re.Match[str]) -> str:
    return _money(m.group(1), ("pound", "pounds"), ("penny", "pence"), "zero pounds")


def _dollars(m: re.Match[str]) -> str:
    return _money(m.group(1), ("dollar", "dollars"), ("cent", "cents"), "zero dollars")


def _decimal(m: re.Match[str]) -> str:
    whole, _, decimals = m.group(1).partition(".")
    return whole + " point " + " ".join(decimals)


def _fraction(m: re.Match[str]) -> str:
    numerator, denominator = (int(x) for x in m.group(0).split("/"))
    said = _words(numerator)
    if denominator == 1:
        return said
    if denominator == 2:
        return f"{said} {'half' if numerator == 1 else 'halves'}"
    ordinal = _inflect_ordinal(_words(denominator))
    return f"{said} {ordinal}{'s' if numerator > 1 else ''}"


def _ordinal(m: re.Match[str]) -> str:
    return _ordinal_words(m.group(0))


def _integer(m: re.Match[str]) -> str:
    num = int(m.group(0))
    if 1000 < num < 3000:  # years are read in pairs: 1984 → nineteen eighty-four
        if num == 2000:
            return "two thousand"
        if 2000 < num < 2010:
            return "two thousand " + _words(num % 100)
        if num % 100 == 0:
            return _words(num // 100) + " hundred"
        return _words(num, andword="", pairs=True).replace(", ", " ")
    return _words(num, andword="")


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")


def _digit_run(m: re.Match[str]) -> str:
    return " ".join(_DIGIT_WORDS[int(d)] for d in m.group(0))


def expand(text: str) -> str:
    """Spell out numbers and symbols, keep only the English character set, split acronyms."""
    # Absurdly long digit runs are read digit by digit up front: no reading exists for them and
    # integer conversion of thousands of digits is refused by Python.
    text = _HUGE_NUMBER.sub(_digit_run, text)
    text = _LIST_NUMBER.sub(_list_number, text)
    while _ARITHMETIC.search(text):
        text = _ARITHMETIC.sub(_arithmetic, text)
    # The official rule also swallows the space before the sign ("a -5" → "anegative 5"); the
    # space is kept here (see the package README).
    text = _NEGATIVE.sub(lambda m: m.group(1) + "negative " + m.group(2), text)
    text = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), text)
    text = _TIME.sub(_time, text)
    text = _MEASUREMENT.sub(_measurement, text)
    text = _POUNDS_BEFORE.sub(_pounds, text)
    text = _POUNDS_AFTER.sub(_pounds, text)
    text = _DOLLARS_BEFORE.sub(_dollars, text)
    text = _DOLLARS_AFTER.sub(_dollars, text)
    text = _DECIMAL.sub(_decimal, text)
    text = _FRACTION.sub(_fraction, text)
    text = _ORDINAL.sub(_ordinal, text)
    text = _INTEGER.sub(_integer, text)
    text = _strip_accents(text)
    text = text.replace("%", " percent")
    text = _NOT_KEPT.sub("", text)
    text = re.sub(r"(?i)i\.e\.", "that is", text)
    text = re.sub(r"(?i)e\.g\.", "for example", text)
    return _CAPITAL_INSIDE_WORD.sub(r" \1", text)


def normalize_en(text: str) -> str:
    """Normalise English text to what the English g2p reads."""
    text = text.replace("。", ".").replace("！", "!").replace("？", "?")
    return _REPEATED_PUNCT.sub(r"\1", expand(text))
