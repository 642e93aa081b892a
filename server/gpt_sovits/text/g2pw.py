"""Optional G2PW polyphone readings for Chinese, from model files on local disk only.

The reference frontend's default Chinese reader is the G2PW ONNX model, which it downloads at run
time. This project never downloads: the model folder must be provided (``GSV_TEXT_G2PW_MODEL_DIR``
or an explicit path) and ``onnxruntime`` must be installed. Without them, this module explains
what is missing with a :class:`~gpt_sovits.errors.CheckpointError`; the frontend then keeps its
pypinyin readings (which are what the conformance golden was made with).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from gpt_sovits.errors import CheckpointError
from gpt_sovits.text.g2p_zh import SentenceReader
from gpt_sovits.text.settings import get_settings

#: Files a G2PW model folder must contain.
REQUIRED_FILES = ("g2pW.onnx", "POLYPHONIC_CHARS.txt", "bopomofo_to_pinyin_wo_tune_dict.json")


def model_dir(path: Path | None = None) -> Path:
    """The G2PW folder: ``path`` or the configured one; a clear error when unset or incomplete."""
    folder = path if path is not None else get_settings().g2pw_model_dir
    if folder is None:
        raise CheckpointError(
            "G2PW is not configured: set GSV_TEXT_G2PW_MODEL_DIR to a local G2PW model folder "
            f"(containing {', '.join(REQUIRED_FILES)})"
        )
    if not folder.is_dir():
        raise CheckpointError(f"G2PW model folder {folder} does not exist")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"G2PW model folder {folder} lacks {', '.join(missing)}")
    return folder


def load_reader(path: Path | None = None) -> SentenceReader:
    """A sentence reader backed by the local G2PW model (see the module docstring)."""
    folder = model_dir(path)
    if importlib.util.find_spec("onnxruntime") is None:
        raise CheckpointError(
            f"G2PW model found at {folder}, but onnxruntime is not installed in this environment; "
            "install it to use G2PW readings"
        )
    raise CheckpointError(
        f"G2PW model found at {folder}, but G2PW inference is not part of this build; "
        "Chinese readings come from pypinyin"
    )
