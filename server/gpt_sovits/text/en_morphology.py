"""Pronounce inflected forms of lexicon words (plurals, -ed, -ing, -er, -ly, -ness) the lexicon lacks.

Tried before compound splitting and letter-to-sound rules: "chatbots" is "chatbot"+Z when only the
stem is listed. The stem may have lost a final "e" (making → make) or doubled its last consonant
(running → run).
"""

from __future__ import annotations

from collections.abc import Callable

from gpt_sovits.text import en_lexicon

_VOICELESS = {"P", "T", "K", "F", "TH", "HH", "S", "SH", "CH"}
_SIBILANT = {"S", "Z", "SH", "ZH", "CH", "JH"}


def _plural(stem: list[str]) -> list[str]:
    if stem[-1] in _SIBILANT:
        return [*stem, "AH0", "Z"]
    return [*stem, "S" if stem[-1] in _VOICELESS else "Z"]


def _past(stem: list[str]) -> list[str]:
    if stem[-1] in {"T", "D"}:
        return [*stem, "IH0", "D"]
    return [*stem, "T" if stem[-1] in _VOICELESS else "D"]


def _suffix(phones: tuple[str, ...]) -> Callable[[list[str]], list[str]]:
    return lambda stem: [*stem, *phones]


# Suffix → how the stem's phones change; longer suffixes first so "-ness" is not read as "-s".
_SUFFIXES: tuple[tuple[str, Callable[[list[str]], list[str]]], ...] = (
    ("ization", _suffix(("AH0", "Z", "EY1", "SH", "AH0", "N"))),
    ("izers", _suffix(("AY2", "Z", "ER0", "Z"))),
    ("izing", _suffix(("AY2", "Z", "IH0", "NG"))),
    ("izer", _suffix(("AY2", "Z", "ER0"))),
    ("ized", _suffix(("AY2", "Z", "D"))),
    ("izes", _suffix(("AY2", "Z", "IH0", "Z"))),
    ("ize", _suffix(("AY2", "Z"))),
    ("ness", _suffix(("N", "AH0", "S"))),
    ("ing", _suffix(("IH0", "NG"))),
    ("ers", _suffix(("ER0", "Z"))),
    ("es", _plural),
    ("ed", _past),
    ("er", _suffix(("ER0",))),
    ("ly", _suffix(("L", "IY0"))),
    ("s", _plural),
)


def _stems(base: str) -> list[str]:
    """Candidate stems of ``base`` (what is left after the suffix)."""
    candidates = [base, base + "e"]
    if len(base) > 2 and base[-1] == base[-2]:
        candidates.append(base[:-1])  # running → run
    if base.endswith("i"):
        candidates.append(base[:-1] + "y")  # happily → happy, cities → city
    return candidates


def inflected(word: str) -> list[str] | None:
    """Phones of ``word`` built from a listed stem and a regular suffix, or None."""
    for suffix, attach in _SUFFIXES:
        if not word.endswith(suffix) or len(word) - len(suffix) < 3:
            continue
        for stem in _stems(word[: -len(suffix)]):
            phones = en_lexicon.lookup(stem)
            if phones:
                return attach(phones)
    return None
