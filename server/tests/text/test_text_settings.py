"""TextSettings: an explicit, frozen value; check() names the setting and the file of any problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gpt_sovits.errors import CheckpointError
from gpt_sovits.text.frontend import TextFrontend, default_frontend
from gpt_sovits.text.g2pw import REQUIRED_FILES
from gpt_sovits.text.settings import TextSettings


def test_defaults_need_no_files() -> None:
    settings = TextSettings()
    settings.check()
    assert settings.g2pw_model_dir is None
    assert settings.ja_user_dict is None
    assert settings.cache_dir.name == "gpt-sovits-text-cache"
    assert default_frontend().settings == settings


def test_settings_are_frozen_and_strict(tmp_path: Path) -> None:
    settings = TextSettings(cache_dir=tmp_path)
    with pytest.raises(ValidationError):
        settings.cache_dir = tmp_path / "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        TextSettings(g2pw_threads=-1)
    with pytest.raises(ValidationError):
        TextSettings(g2pw_model=tmp_path)  # type: ignore[call-arg]


def test_missing_g2pw_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"nowhere does not exist \(g2pw_model_dir\)"):
        TextSettings(g2pw_model_dir=tmp_path / "nowhere").check()


def test_incomplete_g2pw_folder_lists_the_missing_files(tmp_path: Path) -> None:
    (tmp_path / REQUIRED_FILES[0]).write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"g2pw_model_dir\) lacks POLYPHONIC_CHARS\.txt"):
        TextSettings(g2pw_model_dir=tmp_path).check()


def test_missing_tokenizer_is_named(tmp_path: Path) -> None:
    for name in REQUIRED_FILES:
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(CheckpointError, match="set g2pw_tokenizer_dir"):
        TextSettings(g2pw_model_dir=tmp_path).check()
    with pytest.raises(CheckpointError, match=r"tok \(g2pw_tokenizer_dir\) does not exist"):
        TextSettings(g2pw_model_dir=tmp_path, g2pw_tokenizer_dir=tmp_path / "tok").check()
    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "vocab.txt").write_text("[PAD]\n", "utf-8")
    TextSettings(g2pw_model_dir=tmp_path, g2pw_tokenizer_dir=tmp_path / "tok").check()


def test_tokenizer_without_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="g2pw_model_dir is not"):
        TextSettings(g2pw_tokenizer_dir=tmp_path).check()


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "does not exist"), (b"\xff\xfe\x00", "is not UTF-8"), (b"\n  \n", "has no entries")],
)
def test_unusable_user_dictionary_is_named(tmp_path: Path, content: bytes | None, problem: str) -> None:
    path = tmp_path / "userdict.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"userdict\.csv \(ja_user_dict\) {problem}"):
        TextSettings(ja_user_dict=path).check()


def test_frontend_takes_its_settings(tmp_path: Path) -> None:
    settings = TextSettings(cache_dir=tmp_path)
    assert TextFrontend(settings).settings is settings
