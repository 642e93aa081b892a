"""Cantonese grapheme-to-phoneme: ToJyutping readings → ``Y``-prefixed initial and toned final.

Each character's Jyutping syllable is cut after the first entry of the official initials list
that it starts with (so a syllable without a consonant, aa3, gives the pair aa + a3); the initial
is ``Y`` + initial, the final ``Y`` + final + tone; marks stay bare. word2ph is 2 per character and
1 per mark. A character ToJyutping has no reading for is dropped (the official reader fails).
"""

from __future__ import annotations

import re

from gpt_sovits.text.symbols import PUNCTUATION

# Order matters: the first prefix that matches wins (the official list, vowels included).
_INITIALS = (
    *("aa", "aai", "aak", "aap", "aat", "aau", "ai", "au", "ap", "at", "ak", "a"),
    *("p", "b", "e", "ts", "t", "dz", "d", "kw", "k", "gw", "g", "f", "h", "l", "m", "ng", "n", "s"),
    *("y", "w", "c", "z", "j", "ong", "on", "ou", "oi", "ok", "o", "uk", "ung"),
    *("sp", "spl", "spn", "sil"),
)
_MARKS = frozenset(PUNCTUATION)
_READING = re.compile(r"^([a-z]+[1-6]+[ ]?)+$")


def _syllable_pair(syllable: str) -> tuple[str, str, int] | None:
    """(initial, final, tone) of one reading, or None when no initial prefix fits."""
    tone = int(syllable[-1]) if syllable[-1].isdigit() else 0
    base = syllable[:-1] if syllable[-1].isdigit() else syllable
    for initial in _INITIALS:
        if base.startswith(initial):
            if base.startswith("nga"):
                return base[:2], base[2:] or base[-1], tone
            return initial, base[len(initial) :] or initial[-1], tone
    return None


def _phone(symbol: str, tone: int) -> str:
    text = f"{symbol}{tone}" if tone not in (-1, 0) else symbol
    return text if text in _MARKS else "Y" + text


def g2p_yue(norm_text: str) -> tuple[list[str], list[int], str]:
    """Normalised Cantonese → (phones, word2ph, the text actually read)."""
    import ToJyutping

    phones: list[str] = []
    word2ph: list[int] = []
    kept: list[str] = []
    for word, reading in ToJyutping.get_jyutping_list(norm_text):
        if all(char in _MARKS for char in word):
            for char in word:
                phones.append(char)
                word2ph.append(1)
                kept.append(char)
            continue
        if not reading or not _READING.match(reading):
            continue
        pair = _syllable_pair(reading)
        if pair is None:
            continue
        initial, final, tone = pair
        phones.extend((_phone(initial, -1), _phone(final, tone)))
        word2ph.append(2)
        kept.append(word)
    return phones, word2ph, "".join(kept)
