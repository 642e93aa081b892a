"""Cantonese text normalisation: the Chinese normaliser's numbers and units, simplified characters.

As in the official v2 frontend, Cantonese text goes through the Mandarin normaliser (traditional
characters simplified, numbers read in Mandarin-style characters, which the Cantonese reader then
reads), and punctuation maps to the v2 marks. Everything else is deleted: Latin letters, and every character
outside U+4E00–U+9FA5 (so CJK Extension A characters such as 㗎). Unlike Mandarin, runs of marks
are not collapsed and 嗯 / 呣 are kept.
"""

from __future__ import annotations

import re

from gpt_sovits.text.normalize_zh import split_sentences, verbalize
from gpt_sovits.text.symbols import PUNCTUATION

_MARKS: dict[str, str] = {
    "：": ",",
    "；": ",",
    "，": ",",
    "。": ".",
    "！": "!",
    "？": "?",
    "\n": ".",
    "·": ",",
    "、": ",",
    "...": "…",
    "$": ".",
    "—": "-",
    "～": "-",
    "~": "-",
    # Quotes and brackets become an apostrophe, which is then deleted like any non-mark.
    **dict.fromkeys('“”"‘’（）()《》【】[]「」', "'"),
}
_MARKS_RE = re.compile("|".join(re.escape(k) for k in sorted(_MARKS, key=len, reverse=True)))
_NOT_KEPT = re.compile(r"[^\u4e00-\u9fa5" + "".join(re.escape(p) for p in PUNCTUATION) + r"]+")


def map_marks(text: str) -> str:
    """Punctuation → the v2 marks; every other non-CJK character is deleted."""
    return _NOT_KEPT.sub("", _MARKS_RE.sub(lambda m: _MARKS[m.group(0)], text))


def normalize_yue(text: str) -> str:
    """Normalise Cantonese text to the characters and marks the Cantonese g2p reads."""
    return "".join(map_marks(verbalize(s)) for s in split_sentences(text))
