"""Quiet, deterministic jieba word segmentation (with part-of-speech tags).

jieba logs to stderr and writes its dictionary cache on first use; it is initialised once per
process here with its logger silenced and its cache file in the frontend's cache folder, never in
the repository. jieba is process-global, so the first folder given (or the default one) stays.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import jieba
import jieba.posseg

_LOCK = threading.Lock()
_READY = False


def initialize(cache_dir: Path) -> None:
    """Load jieba's dictionary once, silently, with its cache in ``cache_dir``."""
    global _READY
    if _READY:
        return
    with _LOCK:
        if _READY:
            return
        cache_dir.mkdir(parents=True, exist_ok=True)
        jieba.setLogLevel(logging.WARNING)
        jieba.dt.tmp_dir = str(cache_dir)
        jieba.dt.cache_file = str(cache_dir / "jieba.cache")
        jieba.dt.initialize()
        _READY = True


def _ensure_ready() -> None:
    if not _READY:
        # Nobody configured a folder: the settings' default one.
        from gpt_sovits.text.settings import TextSettings

        initialize(TextSettings().cache_dir)


def cut_with_pos(text: str) -> list[tuple[str, str]]:
    """Words of ``text`` with their jieba POS tags."""
    _ensure_ready()
    return [(pair.word, pair.flag) for pair in jieba.posseg.lcut(text)]


def cut_for_search(word: str) -> list[str]:
    """jieba's search-mode cut (all dictionary sub-words), used to split compounds for tone rules."""
    _ensure_ready()
    return list(jieba.cut_for_search(word))
