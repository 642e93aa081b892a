"""Quiet, deterministic jieba word segmentation (with part-of-speech tags).

jieba logs to stderr and writes its dictionary cache on first use; it is initialised once here with
its logger silenced and its cache file in the frontend's cache folder, never in the repository.
"""

from __future__ import annotations

import logging
import threading

import jieba
import jieba.posseg

from gpt_sovits.text.settings import get_settings

_LOCK = threading.Lock()
_READY = False


def _ensure_ready() -> None:
    """Load jieba's dictionary once, silently, with its cache in the configured folder."""
    global _READY
    if _READY:
        return
    with _LOCK:
        if _READY:
            return
        cache_dir = get_settings().cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)
        jieba.setLogLevel(logging.WARNING)
        jieba.dt.tmp_dir = str(cache_dir)
        jieba.dt.cache_file = str(cache_dir / "jieba.cache")
        jieba.dt.initialize()
        _READY = True


def cut_with_pos(text: str) -> list[tuple[str, str]]:
    """Words of ``text`` with their jieba POS tags."""
    _ensure_ready()
    return [(pair.word, pair.flag) for pair in jieba.posseg.lcut(text)]


def cut_for_search(word: str) -> list[str]:
    """jieba's search-mode cut (all dictionary sub-words), used to split compounds for tone rules."""
    _ensure_ready()
    return list(jieba.cut_for_search(word))
