"""Sentence splitting: the cut0..cut5 methods and the request-level text preparation.

* cut0: no cut; cut1: every 4 sentences; cut2: about 50 characters per piece; cut3: at "。";
  cut4: at "." (not between digits); cut5: after every punctuation mark (not "." between digits).
Every method returns the pieces joined by newlines and drops pieces made only of punctuation.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from gpt_sovits.errors import TextError

#: Marks after which a sentence may end.
SPLIT_MARKS = frozenset("，。？！,.?!~:：—…")
# Pieces made only of these (and spaces) carry nothing to say.
_BARE_PUNCT = frozenset("!?…,.- ")
_CUT5_MARKS = frozenset(",.;?!、，。？！;：…")
_MAX_PIECE = 510
_MIN_PIECE = 5


def _drop_bare(pieces: list[str], bare: frozenset[str] = _BARE_PUNCT) -> list[str]:
    return [p for p in pieces if not set(p) <= bare]


def split_after_marks(text: str) -> list[str]:
    """Split after every split mark (text gets a final "。" if it lacks one)."""
    text = text.replace("……", "。").replace("——", "，")
    if text and text[-1] not in SPLIT_MARKS:
        text += "。"
    pieces: list[str] = []
    start = 0
    for i, char in enumerate(text):
        if char in SPLIT_MARKS:
            pieces.append(text[start : i + 1])
            start = i + 1
    return pieces


def cut0(text: str) -> str:
    """No cut (a text of only punctuation yields nothing)."""
    return text if not set(text) <= _BARE_PUNCT else "\n"


def cut1(text: str) -> str:
    """Four sentences per piece; the last piece takes the remainder."""
    text = text.strip("\n")
    pieces = split_after_marks(text)
    if len(pieces) <= 4:
        lines = [text]
    else:
        starts = list(range(0, len(pieces), 4))
        bounds = [*starts[:-1], len(pieces)]
        lines = ["".join(pieces[a:b]) for a, b in itertools.pairwise(bounds)]
    return "\n".join(_drop_bare(lines))


def cut2(text: str, max_length: int = 50) -> str:
    """Accumulate sentences until a piece exceeds ``max_length``; a short tail joins the previous."""
    text = text.strip("\n")
    pieces = split_after_marks(text)
    if len(pieces) < 2:
        return text
    lines: list[str] = []
    current = ""
    for piece in pieces:
        current += piece
        if len(current) > max_length:
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    if len(lines) > 1 and len(lines[-1]) < max_length:
        tail = lines.pop()
        lines[-1] += tail
    return "\n".join(_drop_bare(lines))


def cut3(text: str) -> str:
    """Split at the Chinese full stop "。" (outer ones stripped)."""
    text = text.strip("\n")
    return "\n".join(_drop_bare(text.strip("。").split("。")))


def cut4(text: str) -> str:
    """Split at "." except between two digits (outer ones stripped)."""
    text = text.strip("\n")
    return "\n".join(_drop_bare(re.split(r"(?<!\d)\.(?!\d)", text.strip("."))))


def cut5(text: str) -> str:
    """Split after every punctuation mark, except a "." between two digits (3.14)."""
    text = text.strip("\n")
    pieces: list[str] = []
    current = ""
    for i, char in enumerate(text):
        current += char
        if char not in _CUT5_MARKS:
            continue
        decimal_point = (
            char == "." and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
        )
        if not decimal_point:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return "\n".join(_drop_bare(pieces, _CUT5_MARKS))


CUT_METHODS: dict[str, Callable[[str], str]] = {
    "cut0": cut0,
    "cut1": cut1,
    "cut2": cut2,
    "cut3": cut3,
    "cut4": cut4,
    "cut5": cut5,
}


def cut(text: str, method: str) -> str:
    """Apply the named cut method; an unknown name is a :class:`TextError`."""
    try:
        return CUT_METHODS[method](text)
    except KeyError:
        raise TextError(f"unknown text split method {method!r}; use one of {sorted(CUT_METHODS)}") from None


def _merge_short(pieces: list[str], threshold: int) -> list[str]:
    """Join neighbours until each piece has ``threshold`` characters; a short rest joins the last."""
    if len(pieces) < 2:
        return pieces
    merged: list[str] = []
    current = ""
    for piece in pieces:
        current += piece
        if len(current) >= threshold:
            merged.append(current)
            current = ""
    if current:
        if merged:
            merged[-1] += current
        else:
            merged.append(current)
    return merged


def split_long(text: str, max_length: int = _MAX_PIECE) -> list[str]:
    """Split text longer than ``max_length`` at split marks into pieces of at most that length."""
    parts = re.split("([" + re.escape("".join(sorted(SPLIT_MARKS))) + "])", text)
    pieces: list[str] = []
    current = ""
    for part in parts:
        if len(current + part) > max_length:
            pieces.append(current)
            current = part
        else:
            current += part
    if current:
        pieces.append(current)
    return [p for p in pieces if p]


def collapse_punctuation(text: str) -> str:
    """Keep the first of a run of ``! ? … , . -`` marks."""
    return re.sub(r"([!?…,.\-])([!?…,.\-])+", r"\1", text)


def prepare_text(text: str, language: str, method: str) -> list[str]:
    """Request text → the pieces synthesised one by one (cut, merged, punctuated, bounded)."""
    stop = "." if language == "en" else "。"
    text = collapse_punctuation(text).strip("\n")
    if not text:
        return []
    first = re.split("[" + re.escape("".join(sorted(SPLIT_MARKS))) + "]", text)[0].strip()
    if text[0] not in SPLIT_MARKS and len(first) < 4:
        # A very short first phrase is read badly on its own; a leading stop helps the model.
        text = stop + text
    lines = [line for line in cut(text, method).split("\n") if line not in ("", " ")]
    if not lines:
        raise TextError("the text has nothing to say after splitting")
    pieces: list[str] = []
    for line in _merge_short(lines, _MIN_PIECE):
        if not line.strip() or not re.sub(r"\W+", "", line):
            continue  # blank or symbols only
        if line[-1] not in SPLIT_MARKS:
            line += stop
        pieces.extend(split_long(line) if len(line) > _MAX_PIECE else [line])
    return pieces
