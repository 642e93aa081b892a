"""Offline letter-to-sound rules for English words missing from the lexicon.

A small greedy grapheme → phoneme rule set (longest grapheme first), with a silent final "e" and
primary stress on the first vowel. It is a fallback for rare words and names: it gives a plausible,
always-valid ARPAbet sequence, not dictionary quality.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Grapheme → phones; vowels carry no stress digit yet (added by _stress).
_RULES: dict[str, tuple[str, ...]] = {
    "tion": ("SH", "AH", "N"),
    "sion": ("ZH", "AH", "N"),
    "ough": ("AO",),
    "augh": ("AO",),
    "eigh": ("EY",),
    "igh": ("AY",),
    "tch": ("CH",),
    "dge": ("JH",),
    "sch": ("S", "K"),
    "que": ("K",),
    "th": ("TH",),
    "sh": ("SH",),
    "ch": ("CH",),
    "ph": ("F",),
    "wh": ("W",),
    "ck": ("K",),
    "ng": ("NG",),
    "qu": ("K", "W"),
    "kn": ("N",),
    "wr": ("R",),
    "gh": ("G",),
    "ee": ("IY",),
    "ea": ("IY",),
    "ie": ("IY",),
    "ei": ("EY",),
    "ey": ("IY",),
    "ai": ("EY",),
    "ay": ("EY",),
    "oa": ("OW",),
    "oo": ("UW",),
    "ou": ("AW",),
    "ow": ("OW",),
    "oi": ("OY",),
    "oy": ("OY",),
    "au": ("AO",),
    "aw": ("AO",),
    "ew": ("UW",),
    "ue": ("UW",),
    "ar": ("AA", "R"),
    "er": ("ER",),
    "ir": ("ER",),
    "ur": ("ER",),
    "or": ("AO", "R"),
    "a": ("AE",),
    "e": ("EH",),
    "i": ("IH",),
    "o": ("AA",),
    "u": ("AH",),
    "y": ("IY",),
    "b": ("B",),
    "c": ("K",),
    "d": ("D",),
    "f": ("F",),
    "g": ("G",),
    "h": ("HH",),
    "j": ("JH",),
    "k": ("K",),
    "l": ("L",),
    "m": ("M",),
    "n": ("N",),
    "p": ("P",),
    "q": ("K",),
    "r": ("R",),
    "s": ("S",),
    "t": ("T",),
    "v": ("V",),
    "w": ("W",),
    "x": ("K", "S"),
    "z": ("Z",),
}
_LONGEST = max(len(g) for g in _RULES)
_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


def _stress(phones: list[str]) -> list[str]:
    """Primary stress on the first vowel, none elsewhere."""
    stressed: list[str] = []
    first = True
    for phone in phones:
        if phone in _VOWELS:
            stressed.append(phone + ("1" if first else "0"))
            first = False
        else:
            stressed.append(phone)
    return stressed


@lru_cache(maxsize=4096)
def _spell_rules(word: str) -> tuple[str, ...]:
    letters = re.sub(r"[^a-z]", "", word.lower())
    # A doubled consonant letter is one sound ("ss", "ll", "tt").
    letters = re.sub(r"([bcdfghjklmnpqrstvwxz])\1", r"\1", letters)
    # A final silent "e" after a consonant ("mate", "lune") lengthens nothing here but is not said.
    if len(letters) > 2 and letters.endswith("e") and letters[-2] not in "aeiouy":
        letters = letters[:-1]
    phones: list[str] = []
    i = 0
    while i < len(letters):
        for size in range(min(_LONGEST, len(letters) - i), 0, -1):
            chunk = letters[i : i + size]
            if chunk in _RULES:
                # "c"/"g" soften before e, i, y (cent, gem); "y" starting a word is a consonant.
                if chunk == "c" and letters[i + 1 : i + 2] in {"e", "i", "y"}:
                    phones.append("S")
                elif chunk == "y" and i == 0:
                    phones.append("Y")
                else:
                    phones.extend(_RULES[chunk])
                i += size
                break
        else:
            i += 1
    return tuple(_stress(phones))


def predict(word: str) -> list[str]:
    """Best-effort ARPAbet for an out-of-vocabulary word (letters only are read)."""
    return list(_spell_rules(word))
