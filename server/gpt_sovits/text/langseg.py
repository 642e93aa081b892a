"""Language runs of mixed text: Latin-script English, CJK Chinese, kana Japanese, hangul Korean.

Characters without a language of their own (digits, spaces, punctuation) join the run before them,
or the first run when they lead the text; text made only of such characters is one English run,
as the reference segmenter labels pure ASCII/punctuation text.
"""

from __future__ import annotations

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


def segment(text: str) -> list[LangRun]:
    """Split text into language runs (neutral characters attached as described above)."""
    runs: list[list[str]] = []  # [lang, text]
    leading = ""
    for char in text:
        lang = char_language(char)
        if lang is None:
            if runs:
                runs[-1][1] += char
            else:
                leading += char
        elif runs and runs[-1][0] == lang:
            runs[-1][1] += char
        else:
            runs.append([lang, char])
    if not runs:
        return [LangRun("en", leading)] if leading else []
    runs[0][1] = leading + runs[0][1]
    return [LangRun(lang, piece) for lang, piece in runs]


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
