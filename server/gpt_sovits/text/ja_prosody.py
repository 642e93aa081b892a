"""OpenJTalk full-context labels → phones with pitch-accent marks (the ESPnet prosody scheme).

Each label's current phone is kept (unvoiced vowels read as plain vowels); a pause is ``_``; after a
phone, ``#`` marks an accent-phrase boundary, ``]`` a pitch fall and ``[`` a pitch rise. The first
and last labels (silences) become ``^`` and ``$`` (``?`` for a question, nothing when the label
does not say); the official frontend then drops the first and the last symbol, and so does
:func:`prosody_phones`.
"""

from __future__ import annotations

import re

_CURRENT_PHONE = re.compile(r"-(.*?)\+")
_ACCENT_DISTANCE = re.compile(r"/A:([0-9\-]+)\+")  # a1: mora position relative to the accent nucleus
_MORA_FORWARD = re.compile(r"\+(\d+)\+")  # a2: mora position in the accent phrase, from its start
_MORA_BACKWARD = re.compile(r"\+(\d+)/")  # a3: mora position from its end
_PHRASE_MORAE = re.compile(r"/F:(\d+)_")  # f1: morae in the accent phrase
_QUESTION = re.compile(r"!(\d+)_")  # e3 of the final silence: 1 for a question
_MISSING = -50  # the value ESPnet gives an absent feature (never equal to a real one)
_VOICED_FORMS = "aeiouAEIOUNcl"


def _feature(pattern: re.Pattern[str], label: str) -> int:
    match = pattern.search(label)
    return _MISSING if match is None else int(match.group(1))


def prosody_phones(labels: list[str]) -> list[str]:
    """Phones and prosody marks of one utterance's labels, without the first and last symbol."""
    phones: list[str] = []
    last = len(labels) - 1
    for n, label in enumerate(labels):
        match = _CURRENT_PHONE.search(label)
        phone = match.group(1) if match else ""
        if phone in ("A", "E", "I", "O", "U"):
            phone = phone.lower()
        if phone == "sil":
            if n == 0:
                phones.append("^")
            elif n == last:
                question = _feature(_QUESTION, label)
                if question in (0, 1):
                    phones.append("?" if question else "$")
            continue
        if phone == "pau":
            phones.append("_")
            continue
        phones.append(phone)
        a1 = _feature(_ACCENT_DISTANCE, label)
        a2 = _feature(_MORA_FORWARD, label)
        a3 = _feature(_MORA_BACKWARD, label)
        f1 = _feature(_PHRASE_MORAE, label)
        a2_next = _feature(_MORA_FORWARD, labels[n + 1]) if n < last else _MISSING
        if a3 == 1 and a2_next == 1 and phone in _VOICED_FORMS:
            phones.append("#")
        elif a1 == 0 and a2_next == a2 + 1 and a2 != f1:
            phones.append("]")
        elif a2 == 1 and a2_next == 2:
            phones.append("[")
    # Sliced, not filtered: exactly the first and last symbol go, as in the official frontend.
    return phones[1:-1]
