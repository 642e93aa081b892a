"""Language runs of mixed text: the official segmenter's rules on top of the detector's pieces.

Per detector piece (:mod:`lang_detect`): a piece of Latin letters with ASCII / general or CJK
punctuation, digits and spaces is English; with a ``default`` language every other piece takes it;
otherwise kana and hangul stretches inside a piece labelled otherwise are cut out as ja / ko, and
an unknown piece keeps only its CJK characters (and digits and marks) as Chinese. Numbers are then
placed: with a default language they take it; between two runs of one language they join it, after
a run ending in a clause mark the next run, before a run starting with one (or when they end in a
full stop) the previous one, else the longer neighbour (ties: the previous); a text of only numbers
is Chinese. Unknown runs left join the previous run (or the next; alone: Chinese). Neighbouring runs
of one language are one run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpt_sovits.text.lang_detect import Piece, detect_pieces


@dataclass(frozen=True)
class LangRun:
    """A maximal piece of text in one language."""

    lang: str
    text: str


_ENGLISH = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9\s\u0020-\u007E\u2000-\u206F\u3000-\u303F\uFF00-\uFFEF]+$")
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DB5),
    (0x20000, 0x2A6DD),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0x2CEB0, 0x2EBEF),
    (0x30000, 0x3134A),
    (0x31350, 0x323AF),
    (0x2EBF0, 0x2EE5D),
)
_CJK_COMPANION = re.compile(r"[0-9、-〜。！？.!?… /]")
_JOINERS = "0-9、-〜。！？.!?… "
_KANA = "\u3041-\u3096\u3099\u309a\u30a1-\u30fa\u30fc"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_STRETCH = {
    "ja": re.compile(f"[{_KANA}]+(?:[{_JOINERS}]+[{_KANA}]*)*"),
    "ko": re.compile(f"[{_HANGUL}]+(?:[{_JOINERS}]+[{_HANGUL}]*)*"),
}
_CLAUSE_END = frozenset(",.!?，。！？")


def _cjk_only(text: str) -> str:
    """The CJK ideographs of ``text`` with the digits and marks that go with them."""
    return "".join(
        char
        for char in text
        if any(lo <= ord(char) <= hi for lo, hi in _CJK_RANGES) or _CJK_COMPANION.match(char)
    )


def _cut_stretches(lang: str, piece: Piece) -> list[Piece]:
    """``piece`` with its kana (``lang`` ja) or hangul (ko) stretches as pieces of their own."""
    out: list[Piece] = []
    end = 0
    for match in _STRETCH[lang].finditer(piece.text):
        if match.start() > end:
            out.append(Piece(piece.lang, piece.text[end : match.start()]))
        out.append(Piece(lang, match.group(0)))
        end = match.end()
    if end < len(piece.text):
        out.append(Piece(piece.lang, piece.text[end:]))
    return out


def _append(runs: list[Piece], piece: Piece) -> None:
    if runs and runs[-1].lang == piece.lang:
        runs[-1] = Piece(piece.lang, runs[-1].text + piece.text)
    else:
        runs.append(piece)


def _split_foreign_script(piece: Piece) -> list[Piece]:
    """A piece with its kana, then hangul, stretches cut out, exactly as the official code does.

    Quirk kept for fidelity: a part already labelled ko reuses the previous part's hangul cut.
    """
    parts = (_cut_stretches("ja", piece) if piece.lang != "ja" else []) or [piece]
    out: list[Piece] = []
    previous_cut: list[Piece] = []
    for part in parts:
        if part.lang != "ko":
            previous_cut = _cut_stretches("ko", part)
        out.extend(previous_cut or [part])
    return out


def _label(pieces: list[Piece], default: str | None) -> tuple[list[Piece], bool]:
    runs: list[Piece] = []
    has_numbers = False
    for piece in pieces:
        if piece.lang == "digit":
            has_numbers = has_numbers or default is None
            _append(runs, Piece(default or "digit", piece.text))
        elif _ENGLISH.match(piece.text):
            _append(runs, Piece("en", piece.text))
        elif default is not None:
            _append(runs, Piece(default, piece.text))
        else:
            parts = _split_foreign_script(piece)
            if len(parts) == 1:
                parts = [piece]
            current = piece  # the official code keeps the whole piece's CJK text, not the part's
            for part in parts:
                if part.lang != "x":
                    _append(runs, part)
                    continue
                if cjk := _cjk_only(current.text):
                    current = Piece("zh", cjk)
                _append(runs, current)
    return runs, has_numbers


def _number_language(runs: list[Piece], i: int, placed: list[Piece]) -> str:
    """Language of the number run ``runs[i]`` given the runs already ``placed`` before it."""
    last = len(runs) - 1
    if placed and i == last:
        return placed[-1].lang
    if not placed and i < last:
        return runs[1].lang
    if placed and i < last:
        previous, following = placed[-1], runs[i + 1]
        if previous.lang == following.lang:
            return previous.lang
        if previous.text[-1] in _CLAUSE_END:
            return following.lang
        if following.text[0] in _CLAUSE_END or runs[i].text[-1] in "。.":
            return previous.lang
        return previous.lang if len(previous.text) >= len(following.text) else following.lang
    return "zh"


def segment(text: str, default: str | None = None) -> list[LangRun]:
    """Split text into language runs; ``default`` labels every non-English run (the all_* modes)."""
    runs, has_numbers = _label(detect_pieces(text), default)
    if has_numbers:
        placed: list[Piece] = []
        for i, run in enumerate(runs):
            lang = _number_language(runs, i, placed) if run.lang == "digit" else run.lang
            _append(placed, Piece(lang, run.text))
        runs = placed
    resolved: list[Piece] = []
    for run in runs:
        if run.lang == "x":
            lang = resolved[-1].lang if resolved else runs[1].lang if len(runs) > 1 else "zh"
            run = Piece(lang, run.text)
        _append(resolved, run)
    return [LangRun(run.lang, run.text) for run in resolved]


def merge_for_request(runs: list[LangRun], request_language: str) -> list[LangRun]:
    """Two classes only: English runs and everything else, the latter labelled ``request_language``.

    This is how a request in one language treats embedded English (and why kanji/kana runs in a
    "zh" request are read as Chinese: the script cannot tell them apart).
    """
    merged: list[LangRun] = []
    for run in runs:
        lang = "en" if run.lang == "en" else request_language
        if merged and merged[-1].lang == lang:
            merged[-1] = LangRun(lang, merged[-1].text + run.text)
        else:
            merged.append(LangRun(lang, run.text))
    return merged
