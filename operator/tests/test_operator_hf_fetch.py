"""The Hugging Face fetch script: the files it fetched are checked against their sha256."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voice_operator.fetchers import script_text
from voice_operator.fetchers.hf_fetch import verify

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_listed_files_that_match_pass(tmp_path: Path) -> None:
    (tmp_path / "sv").mkdir()
    (tmp_path / "sv" / "a.ckpt").write_bytes(b"a")
    (tmp_path / "b.pth").write_bytes(b"b")
    verify(tmp_path, {"sv/a.ckpt": sha(b"a"), "b.pth": sha(b"b")})
    verify(tmp_path, {})


def test_a_mismatch_fails_and_removes_the_file(tmp_path: Path) -> None:
    (tmp_path / "g.ckpt").write_bytes(b"tampered")
    with pytest.raises(SystemExit, match=rf"sha256 mismatch for g\.ckpt: expected {sha(b'original')}"):
        verify(tmp_path, {"g.ckpt": sha(b"original")})
    assert not (tmp_path / "g.ckpt").exists()


def test_a_listed_file_that_was_not_fetched_fails(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"sha256 lists s\.pth, which was not fetched"):
        verify(tmp_path, {"s.pth": sha(b"s")})


@pytest.fixture
def fake_hub(tmp_path: Path) -> dict[str, str]:
    """Environment whose ``huggingface_hub`` writes the files of a folder instead of downloading."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "g.ckpt").write_bytes(b"gpt")
    (repo / "s.pth").write_bytes(b"sovits")
    package = tmp_path / "site" / "huggingface_hub"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "import fnmatch, json, os, pathlib, shutil\n"
        "def snapshot_download(repo_id, revision, allow_patterns, local_dir):\n"
        "    source = pathlib.Path(os.environ['FAKE_HUB_REPO'])\n"
        "    pathlib.Path(os.environ['FAKE_HUB_CALLS']).write_text(json.dumps([repo_id, revision]))\n"
        "    for path in source.iterdir():\n"
        "        if any(fnmatch.fnmatchcase(path.name, p) for p in allow_patterns):\n"
        "            shutil.copy(path, pathlib.Path(local_dir) / path.name)\n"
        "    return local_dir\n"
    )
    return {
        **os.environ,
        "PYTHONPATH": str(package.parent),
        "FAKE_HUB_REPO": str(repo),
        "FAKE_HUB_CALLS": str(tmp_path / "calls.json"),
    }


def _run(env: dict[str, str], dest: Path, checksums: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -c <script> REPO REVISION DEST SHA256_JSON FILE...``, the init container's command."""
    cmd = [
        sys.executable,
        "-c",
        script_text("hf_fetch"),
        "org/voice",
        COMMIT,
        str(dest),
        json.dumps(checksums),
    ]
    return subprocess.run(
        [*cmd, "*.ckpt", "*.pth"], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_runs_as_the_container_runs_it(fake_hub: dict[str, str], tmp_path: Path) -> None:
    dest = tmp_path / "models"
    dest.mkdir()
    result = _run(fake_hub, dest, {"g.ckpt": sha(b"gpt"), "s.pth": sha(b"sovits")})
    assert result.returncode == 0, result.stderr
    assert "2 checked" in result.stdout
    assert json.loads(Path(fake_hub["FAKE_HUB_CALLS"]).read_text()) == ["org/voice", COMMIT]
    assert (dest / "s.pth").read_bytes() == b"sovits"


def test_a_wrong_digest_fails_the_container(fake_hub: dict[str, str], tmp_path: Path) -> None:
    dest = tmp_path / "models"
    dest.mkdir()
    result = _run(fake_hub, dest, {"s.pth": sha(b"other")})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("sha256 mismatch for s.pth")
    assert not (dest / "s.pth").exists()
    assert (dest / "g.ckpt").exists()


def test_bad_usage_exits_nonzero() -> None:
    result = subprocess.run(
        [sys.executable, "-c", script_text("hf_fetch"), "org/voice", COMMIT, "/models"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "usage" in result.stderr
