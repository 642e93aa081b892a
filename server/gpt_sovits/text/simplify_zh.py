"""Traditional → simplified Chinese characters, one for one, as the official normaliser does.

The table is PaddleSpeech's (the one the official frontend ships); it is read from the installed
``misaki`` package, which carries the same file, rather than copied here.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    from misaki.zh_normalization.char_convert import simplified_charcters, traditional_characters

    # A character listed twice takes its last pairing, as the table's own dict does.
    return {ord(t): s for t, s in zip(traditional_characters, simplified_charcters, strict=True)}


def to_simplified(text: str) -> str:
    """Traditional → simplified, character by character (others unchanged)."""
    return text.translate(_table())
