"""Language runs of mixed text: Latin-script English, CJK Chinese, kana Japanese, hangul Korean.

Spaces and punctuation join the run before them (or lead the first run). Numbers are placed by the
reference segmenter's rules: with a forced language they take it; otherwise between two runs of one
language they join it, after a run ending in punctuation they join the next run, before a run
starting with punctuation (or when they end in a full stop) the previous one, else the longer
neighbour (ties: the previous); a text of only numbers is Chinese. A text of only spaces and
punctuation is one English run, as the reference labels pure ASCII/punctuation text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class LangRun:
    """A maximal piece of text in one language."""

    lang: str
    text: str


_CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EE5F),
    (0x30000, 0x323AF),
)
_KANA_RANGES = ((0x3041, 0x3096), (0x3099, 0x309A), (0x30A1, 0x30FA), (0x30FC, 0x30FC))
_HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))


def _in(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


def char_language(char: str) -> str | None:
    """The language a character marks, or None for neutral characters."""
    code = ord(char)
    if ("a" <= char <= "z") or ("A" <= char <= "Z") or (0xC0 <= code <= 0x24F and char.isalpha()):
        return "en"
    if _in(code, _CJK_RANGES):
        return "zh"
    if _in(code, _KANA_RANGES):
        return "ja"
    if _in(code, _HANGUL_RANGES):
        return "ko"
    return None


_DIGITS = re.compile(r"[0-9]+(?:[.,:/][0-9]+)*")
_CLAUSE_PUNCT = frozenset(",.!?，。！？")


def _pieces(text: str) -> list[list[str]]:
    """[lang, text] pieces: letters by script, numbers as "digit", neutral chars attached left."""
    pieces: list[list[str]] = []
    leading = ""
    pos = 0
    while pos < len(text):
        number = _DIGITS.match(text, pos)
        if number:
            lang: str | None = "digit"
            chunk = number.group(0)
        else:
            chunk = text[pos]
            lang = char_language(chunk)
        pos += len(chunk)
        if lang is None:
            if pieces:
                pieces[-1][1] += chunk
            else:
                leading += chunk
        elif pieces and pieces[-1][0] == lang:
            pieces[-1][1] += chunk
        else:
            pieces.append([lang, chunk])
    if pieces:
        pieces[0][1] = leading + pieces[0][1]
    elif leading:
        pieces.append(["en", leading])
    return pieces


def _number_language(pieces: list[list[str]], i: int, placed: list[list[str]]) -> str:
    """Language of the number piece ``pieces[i]`` given the pieces already ``placed`` before it."""
    last = len(pieces) - 1
    if placed and i == last:
        return placed[-1][0]
    if not placed and i < last:
        return pieces[1][0]
    if placed and i < last:
        previous, following = placed[-1], pieces[i + 1]
        if previous[0] == following[0]:
            return previous[0]
        if previous[1][-1] in _CLAUSE_PUNCT:
            return following[0]
        if following[1][0] in _CLAUSE_PUNCT or pieces[i][1][-1] in "。.":
            return previous[0]
        return previous[0] if len(previous[1]) >= len(following[1]) else following[0]
    return "zh"


def segment(text: str, forced_language: str | None = None) -> list[LangRun]:
    """Split text into language runs; ``forced_language`` labels every non-English run (all_zh)."""
    pieces = _pieces(text)
    placed: list[list[str]] = []
    for i, (lang, chunk) in enumerate(pieces):
        if lang == "digit":
            lang = forced_language or _number_language(pieces, i, placed)
        elif forced_language and lang != "en":
            lang = forced_language
        if placed and placed[-1][0] == lang:
            placed[-1][1] += chunk
        else:
            placed.append([lang, chunk])
    return [LangRun(lang, chunk) for lang, chunk in placed]


def merge_for_request(runs: list[LangRun], request_language: str) -> list[LangRun]:
    """Two classes only: English runs and everything else, the latter labelled ``request_language``.

    This is how a request in a CJK language treats embedded English (and why kanji/kana runs in a
    "zh" request are read as Chinese).
    """
    merged: list[LangRun] = []
    for run in runs:
        lang = "en" if run.lang == "en" else request_language
        if merged and merged[-1].lang == lang:
            merged[-1] = LangRun(lang, merged[-1].text + run.text)
        else:
            merged.append(LangRun(lang, run.text))
    return merged
