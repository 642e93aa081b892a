"""Optional G2PW polyphone readings for Chinese, from model files on local disk only.

The reference frontend's default Chinese reader is the G2PW ONNX model, which it downloads at run
time. This project never downloads: G2PW is off unless :class:`~gpt_sovits.text.settings.TextSettings`
names a local model folder (``g2pw_model_dir``) and, unless that folder holds the tokenizer too, a
BERT tokenizer folder (``g2pw_tokenizer_dir``). Unconfigured, the frontend keeps its pypinyin
readings (which are what the conformance golden was made with); configured but incomplete, checking
or loading raises a :class:`~gpt_sovits.errors.CheckpointError` naming the setting and the file.

This module checks the folders and assembles the reader; the work is done by
:mod:`g2pw_tables` (files), :mod:`g2pw_features` (tokenizer, inputs), :mod:`g2pw_model`
(onnxruntime session) and :mod:`g2pw_reader` (per-sentence readings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gpt_sovits.errors import CheckpointError

if TYPE_CHECKING:
    from gpt_sovits.text.g2pw_reader import G2PWReader

#: Files a G2PW model folder must contain (the official ``G2PWModel_1.1`` layout).
REQUIRED_FILES = (
    "g2pW.onnx",
    "POLYPHONIC_CHARS.txt",
    "MONOPHONIC_CHARS.txt",
    "bopomofo_to_pinyin_wo_tune_dict.json",
)
#: The settings fields these folders come from (named in errors).
MODEL_SETTING = "g2pw_model_dir"
TOKENIZER_SETTING = "g2pw_tokenizer_dir"


def model_dir(path: Path | None) -> Path:
    """The G2PW folder ``path``; a clear error when unset or incomplete."""
    if path is None:
        raise CheckpointError(
            f"G2PW is not configured: set {MODEL_SETTING} to a local G2PW model folder "
            f"(containing {', '.join(REQUIRED_FILES)})"
        )
    if not path.is_dir():
        raise CheckpointError(f"G2PW model folder {path} does not exist ({MODEL_SETTING})")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise CheckpointError(f"G2PW model folder {path} ({MODEL_SETTING}) lacks {', '.join(missing)}")
    return path


def tokenizer_dir(model_folder: Path, path: Path | None = None) -> Path:
    """The tokenizer folder: ``path``, or the model folder when it has one; checked for its files."""
    from gpt_sovits.text.g2pw_features import TOKENIZER_FILES

    folder = path if path is not None else model_folder
    if any((folder / name).is_file() for name in TOKENIZER_FILES):
        return folder
    if path is not None:
        what = "does not exist" if not path.is_dir() else f"has neither {' nor '.join(TOKENIZER_FILES)}"
        raise CheckpointError(f"G2PW tokenizer folder {path} ({TOKENIZER_SETTING}) {what}")
    raise CheckpointError(
        f"G2PW needs a BERT tokenizer: set {TOKENIZER_SETTING} to a local folder with "
        f"{' or '.join(TOKENIZER_FILES)} (the reference uses chinese-roberta-wwm-ext-large's), "
        f"or put one in {model_folder}"
    )


def load_reader(
    path: Path | None,
    tokenizer_path: Path | None = None,
    provider: str = "CPUExecutionProvider",
    threads: int = 0,
) -> G2PWReader:
    """A sentence reader backed by the local G2PW model in ``path``."""
    folder = model_dir(path)
    tokenizer_folder = tokenizer_dir(folder, tokenizer_path)
    # Imported here: onnxruntime and transformers load only when G2PW is actually used.
    from gpt_sovits.text.g2pw_features import load_tokenizer
    from gpt_sovits.text.g2pw_model import G2PWSession
    from gpt_sovits.text.g2pw_reader import G2PWReader
    from gpt_sovits.text.g2pw_tables import load_tables

    tables = load_tables(folder)
    tokenizer = load_tokenizer(tokenizer_folder, TOKENIZER_SETTING)
    session = G2PWSession(folder / REQUIRED_FILES[0], len(tables.labels), provider, threads)
    return G2PWReader(tables, tokenizer, session)
