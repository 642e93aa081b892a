"""G2PW is used only from local files; every missing piece is a clear CheckpointError."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt_sovits.errors import CheckpointError
from gpt_sovits.text.g2pw import REQUIRED_FILES, load_reader, model_dir


def test_unconfigured_g2pw_says_how_to_configure() -> None:
    with pytest.raises(CheckpointError, match="set g2pw_model_dir"):
        model_dir(None)


def test_absent_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        model_dir(tmp_path / "nowhere")


def test_incomplete_folder_lists_missing_files(tmp_path: Path) -> None:
    (tmp_path / REQUIRED_FILES[0]).write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"POLYPHONIC_CHARS\.txt"):
        model_dir(tmp_path)


def test_folder_of_empty_files_is_refused_naming_the_file(tmp_path: Path) -> None:
    for name in REQUIRED_FILES:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n", "utf-8")
    assert model_dir(tmp_path) == tmp_path
    with pytest.raises(CheckpointError, match=r"POLYPHONIC_CHARS\.txt lists no polyphonic characters"):
        load_reader(tmp_path)


def test_folder_without_tokenizer_names_the_tokenizer_variable(tmp_path: Path) -> None:
    for name in REQUIRED_FILES:
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(CheckpointError, match="g2pw_tokenizer_dir"):
        load_reader(tmp_path)
