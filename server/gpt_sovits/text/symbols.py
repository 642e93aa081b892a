"""The v2 phone symbol table (732 entries) and the phone → id mapping."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from gpt_sovits.errors import TextError

#: Punctuation phones shared by the zh and en frontends (order as in the official table's source).
PUNCTUATION: tuple[str, ...] = ("!", "?", "…", ",", ".", "-")


@lru_cache(maxsize=1)
def symbols() -> tuple[str, ...]:
    """The v2 symbols in id order, loaded from the package data."""
    text = resources.files("gpt_sovits.text").joinpath("data/symbols_v2.json").read_text("utf-8")
    table = json.loads(text)
    return tuple(str(s) for s in table)


@lru_cache(maxsize=1)
def symbol_to_id() -> dict[str, int]:
    """Map from phone symbol to its id (its index in :func:`symbols`)."""
    return {s: i for i, s in enumerate(symbols())}


def phones_to_ids(phones: Iterable[str]) -> list[int]:
    """Phone symbols → ids; an unknown symbol is a :class:`TextError` naming it."""
    table = symbol_to_id()
    ids: list[int] = []
    for phone in phones:
        try:
            ids.append(table[phone])
        except KeyError:
            raise TextError(f"phone {phone!r} is not in the v2 symbol table") from None
    return ids
