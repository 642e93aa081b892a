"""Pinyin syllable (initial + final + tone) → the two v2 phones (initial symbol, final+tone symbol).

The v2 table is the "opencpop-strict" convention: zero-initial syllables get a pseudo-initial
(AA/EE/OO for a/e/o syllables, y/w for i/u/ü ones), zhi/chi/shi/ri use the final ``ir``, zi/ci/si use
``i0``, ü is written ``v``.
"""

from __future__ import annotations

from functools import lru_cache

from gpt_sovits.errors import TextError
from gpt_sovits.text.symbols import symbol_to_id

# Finals written after an initial, as pypinyin spells them in strict mode → spoken pinyin finals.
_CONTRACTED = {"uei": "ui", "iou": "iu", "uen": "un"}
# Zero-initial syllables: whole-syllable spellings first, then the first-letter rewrite.
_ZERO_INITIAL_WHOLE = {"ing": "ying", "i": "yi", "in": "yin", "u": "wu"}
_ZERO_INITIAL_FIRST = {"v": "yu", "i": "y", "u": "w"}
_RETROFLEX = {"zh", "ch", "sh", "r"}
_DENTAL_SIBILANT = {"z", "c", "s"}
_PALATAL = {"j", "q", "x"}
_Y_FINALS = {"an": "En", "e": "E", "u": "v", "uan": "van", "ue": "ve", "un": "vn"}
_INITIALS = (
    "zh",
    "ch",
    "sh",
    "b",
    "p",
    "m",
    "f",
    "d",
    "t",
    "n",
    "l",
    "g",
    "k",
    "h",
    "j",
    "q",
    "x",
    "r",
    "z",
    "c",
    "s",
    "y",
    "w",
)


def spoken_syllable(initial: str, final: str) -> str:
    """Rebuild the written syllable from pypinyin's strict initial and toneless final."""
    if initial:
        return initial + _CONTRACTED.get(final, final)
    if final in _ZERO_INITIAL_WHOLE:
        return _ZERO_INITIAL_WHOLE[final]
    if final[:1] in _ZERO_INITIAL_FIRST:
        return _ZERO_INITIAL_FIRST[final[0]] + final[1:]
    return final


@lru_cache(maxsize=2048)
def syllable_phones(syllable: str) -> tuple[str, str]:
    """Toneless written syllable ("zhi", "yuan", "ai") → (initial symbol, toneless final symbol)."""
    if not syllable:
        raise TextError("empty pinyin syllable")
    initial = next((i for i in _INITIALS if syllable.startswith(i) and len(syllable) > len(i)), "")
    final = syllable[len(initial) :]
    if not initial:
        pseudo = {"a": "AA", "e": "EE", "o": "OO"}.get(syllable[0])
        if pseudo is None:
            raise TextError(f"cannot map pinyin syllable {syllable!r} to v2 phones")
        return pseudo, final
    if initial == "y":
        return "y", _Y_FINALS.get(final, final)
    if initial in _RETROFLEX and final == "i":
        return initial, "ir"
    if initial in _DENTAL_SIBILANT and final == "i":
        return initial, "i0"
    if initial in _PALATAL and final.startswith("u"):
        return initial, "v" + final[1:]
    return initial, final


def pinyin_to_phones(initial: str, final_with_tone: str) -> tuple[str, str]:
    """pypinyin strict initial + ``FINALS_TONE3`` final → the two v2 phone symbols."""
    tone = final_with_tone[-1:]
    if tone not in {"1", "2", "3", "4", "5"}:
        raise TextError(f"pinyin final {final_with_tone!r} has no tone")
    consonant, vowel = syllable_phones(spoken_syllable(initial, final_with_tone[:-1]))
    vowel += tone
    table = symbol_to_id()
    if consonant not in table or vowel not in table:
        raise TextError(f"pinyin {initial}{final_with_tone} maps to phones outside the v2 table")
    return consonant, vowel
