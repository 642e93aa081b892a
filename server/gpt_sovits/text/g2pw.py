"""Optional G2PW polyphone readings for Chinese, from model files on local disk only.

The reference frontend's default Chinese reader is the G2PW ONNX model, which it downloads at run
time. This project never downloads: G2PW is off unless ``GSV_TEXT_G2PW_MODEL_DIR`` names a local
model folder (and, unless that folder holds the tokenizer too, ``GSV_TEXT_G2PW_TOKENIZER_DIR`` a
BERT tokenizer folder). Unconfigured, the frontend keeps its pypinyin readings (which are what the
conformance golden was made with); configured but incomplete, loading raises a
:class:`~gpt_sovits.errors.CheckpointError` naming the missing file or variable.

This module checks the configuration and assembles the reader; the work is done by
:mod:`g2pw_tables` (files), :mod:`g2pw_features` (tokenizer, inputs), :mod:`g2pw_model`
(onnxruntime session) and :mod:`g2pw_reader` (per-sentence readings).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from gpt_sovits.errors import CheckpointError
from gpt_sovits.text.g2p_zh import SentenceReader
from gpt_sovits.text.settings import get_settings

if TYPE_CHECKING:
    from gpt_sovits.text.g2pw_reader import G2PWReader

#: Files a G2PW model folder must contain (the official ``G2PWModel_1.1`` layout).
REQUIRED_FILES = (
    "g2pW.onnx",
    "POLYPHONIC_CHARS.txt",
    "MONOPHONIC_CHARS.txt",
    "bopomofo_to_pinyin_wo_tune_dict.json",
)
MODEL_VARIABLE = "GSV_TEXT_G2PW_MODEL_DIR"
TOKENIZER_VARIABLE = "GSV_TEXT_G2PW_TOKENIZER_DIR"

_lock = threading.Lock()
_configured: list[G2PWReader] = []  # the one reader built from the settings, once loaded


def model_dir(path: Path | None = None) -> Path:
    """The G2PW folder: ``path`` or the configured one; a clear error when unset or incomplete."""
    folder = path if path is not None else get_settings().g2pw_model_dir
    if folder is None:
        raise CheckpointError(
            f"G2PW is not configured: set {MODEL_VARIABLE} to a local G2PW model folder "
            f"(containing {', '.join(REQUIRED_FILES)})"
        )
    if not folder.is_dir():
        raise CheckpointError(f"G2PW model folder {folder} does not exist ({MODEL_VARIABLE})")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"G2PW model folder {folder} lacks {', '.join(missing)}")
    return folder


def tokenizer_dir(model_folder: Path, path: Path | None = None) -> Path:
    """The tokenizer folder: ``path``, the configured one, or the model folder when it has one."""
    folder = path if path is not None else get_settings().g2pw_tokenizer_dir
    if folder is not None:
        return folder
    from gpt_sovits.text.g2pw_features import TOKENIZER_FILES

    if any((model_folder / name).is_file() for name in TOKENIZER_FILES):
        return model_folder
    raise CheckpointError(
        f"G2PW needs a BERT tokenizer: set {TOKENIZER_VARIABLE} to a local folder with "
        f"{' or '.join(TOKENIZER_FILES)} (the reference uses chinese-roberta-wwm-ext-large's), "
        f"or put one in {model_folder}"
    )


def load_reader(path: Path | None = None, tokenizer_path: Path | None = None) -> G2PWReader:
    """A sentence reader backed by the local G2PW model (folders default to the settings)."""
    folder = model_dir(path)
    tokenizer_folder = tokenizer_dir(folder, tokenizer_path)
    # Imported here: onnxruntime and transformers load only when G2PW is actually used.
    from gpt_sovits.text.g2pw_features import load_tokenizer
    from gpt_sovits.text.g2pw_model import G2PWSession
    from gpt_sovits.text.g2pw_reader import G2PWReader
    from gpt_sovits.text.g2pw_tables import load_tables

    settings = get_settings()
    tables = load_tables(folder)
    tokenizer = load_tokenizer(tokenizer_folder, TOKENIZER_VARIABLE)
    session = G2PWSession(
        folder / REQUIRED_FILES[0], len(tables.labels), settings.g2pw_provider, settings.g2pw_threads
    )
    return G2PWReader(tables, tokenizer, session)


def configured_reader() -> SentenceReader | None:
    """The reader of the configured G2PW folder (loaded once), or None when G2PW is not configured."""
    if get_settings().g2pw_model_dir is None:
        return None
    with _lock:
        if not _configured:
            _configured.append(load_reader())
        return _configured[0]


def forget_configured_reader() -> None:
    """Drop the loaded reader (after the settings change, e.g. in tests)."""
    with _lock:
        _configured.clear()
