"""A user-provided Japanese dictionary (the official ``userdict.csv`` format): checks and compiling.

The CSV is the OpenJTalk/MeCab dictionary source format (surface, left id, right id, cost, part of
speech..., reading, pronunciation, accent); it is compiled once against the bundled system
dictionary into the frontend's cache folder, keyed by the CSV's content hash, so an edited file is
recompiled and an unchanged one is reused across restarts.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from pathlib import Path

from gpt_sovits.errors import CheckpointError

SETTING = "ja_user_dict"
# surface, left id, right id, cost, 6 part-of-speech fields, base form, reading, pronunciation,
# accent ("nucleus/morae"), chain rule. OpenJTalk's compiler crashes on other shapes, so every
# line is checked first.
_FIELDS = 15
_ACCENT = re.compile(r"^\d+/\d+$")


def check_user_dict(path: Path) -> None:
    """A :class:`CheckpointError` naming the setting and file unless it is a readable UTF-8 file."""
    if not path.is_file():
        raise CheckpointError(f"Japanese user dictionary {path} ({SETTING}) does not exist or is not a file")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise CheckpointError(f"Japanese user dictionary {path} ({SETTING}) is unreadable: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"Japanese user dictionary {path} ({SETTING}) is not UTF-8: {exc}") from exc
    rows = [
        (n, row)
        for n, row in enumerate(csv.reader(text.splitlines()), start=1)
        if any(f.strip() for f in row)
    ]
    if not rows:
        raise CheckpointError(f"Japanese user dictionary {path} ({SETTING}) has no entries")
    for number, row in rows:
        if len(row) != _FIELDS or not row[0] or not _ACCENT.match(row[13]) or not _is_int(row[3]):
            raise CheckpointError(
                f"Japanese user dictionary {path} ({SETTING}) line {number} is not an OpenJTalk entry: "
                f"expected {_FIELDS} fields (surface,left id,right id,cost,6 part-of-speech fields,"
                "base form,reading,pronunciation,accent n/m,chain rule)"
            )


def _is_int(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+", text))


def compile_user_dict(csv_path: Path, system_dict: Path, cache_dir: Path) -> Path:
    """The compiled form of ``csv_path`` in ``cache_dir`` (compiled now unless already there)."""
    check_user_dict(csv_path)
    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()[:16]
    target = cache_dir / f"ja_userdict-{digest}.dic"
    if target.is_file():
        return target
    from pyopenjtalk.openjtalk import mecab_dict_index

    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    # mecab_dict_index returns 0 on success (the reverse of MeCab's loader).
    status = mecab_dict_index(
        str(system_dict).encode("utf-8"), str(csv_path).encode("utf-8"), str(partial).encode("utf-8")
    )
    if status != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise CheckpointError(
            f"Japanese user dictionary {csv_path} ({SETTING}) could not be compiled: "
            "check that every line follows the OpenJTalk CSV format"
        )
    partial.replace(target)  # atomic: a concurrent process sees the old state or the whole file
    return target
