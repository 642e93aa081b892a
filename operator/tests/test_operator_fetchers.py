"""The init-container fetch script, run for real against a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import io
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from voice_operator.fetchers import script_text
from voice_operator.fetchers.http_fetch import fetch, unpack


@pytest.fixture
def web_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_single_file_is_checked_and_cached(web_root: tuple[Path, str], tmp_path: Path) -> None:
    root, base = web_root
    (root / "g.ckpt").write_bytes(b"weights")
    dest = tmp_path / "models"
    assert fetch(f"{base}/g.ckpt", sha(b"weights"), dest) == "fetched"
    assert (dest / "g.ckpt").read_bytes() == b"weights"
    (root / "g.ckpt").unlink()  # a second run must not need the server
    assert fetch(f"{base}/g.ckpt", sha(b"weights"), dest) == "cached"


def test_archive_is_unpacked(web_root: tuple[Path, str], tmp_path: Path) -> None:
    root, base = web_root
    data = make_archive({"g.ckpt": b"g", "ref/a.wav": b"wav"})
    (root / "voice.tar.gz").write_bytes(data)
    dest = tmp_path / "models"
    fetch(f"{base}/voice.tar.gz", sha(data), dest)
    assert (dest / "g.ckpt").read_bytes() == b"g"
    assert (dest / "ref" / "a.wav").read_bytes() == b"wav"
    assert not list(dest.glob(".part-*"))


@pytest.mark.parametrize("filters", [True, False], ids=["with-filters", "before-3.11.4"])
def test_archive_members_outside_the_folder_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, filters: bool
) -> None:
    # The server image's Python (Debian 12's 3.11.2) has no extraction filters.
    if not filters:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    good = tmp_path / "good.tar.gz"
    good.write_bytes(make_archive({"g.ckpt": b"g", "ref/a.wav": b"wav"}))
    with tarfile.open(good) as archive:
        unpack(archive, tmp_path / "ok")
    assert (tmp_path / "ok" / "ref" / "a.wav").read_bytes() == b"wav"
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(make_archive({"../escaped.ckpt": b"x"}))
    with tarfile.open(bad) as archive, pytest.raises((SystemExit, tarfile.FilterError)):
        unpack(archive, tmp_path / "no")
    assert not (tmp_path / "escaped.ckpt").exists()


def test_wrong_digest_fails_and_leaves_nothing(web_root: tuple[Path, str], tmp_path: Path) -> None:
    root, base = web_root
    (root / "g.ckpt").write_bytes(b"tampered")
    dest = tmp_path / "models"
    with pytest.raises(SystemExit, match="sha256 mismatch"):
        fetch(f"{base}/g.ckpt", sha(b"original"), dest)
    assert list(dest.iterdir()) == []


def test_a_failed_download_is_one_line_naming_the_url(web_root: tuple[Path, str], tmp_path: Path) -> None:
    # The pod's termination message is what status reports: an error line, not a traceback.
    _, base = web_root
    dest = tmp_path / "models"
    cmd = [sys.executable, "-c", script_text("http_fetch"), f"{base}/absent.ckpt", sha(b"x"), str(dest)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == f"cannot download {base}/absent.ckpt: HTTP Error 404: File not found"
    assert not list(dest.glob(".part-*"))


def test_runs_as_the_container_runs_it(web_root: tuple[Path, str], tmp_path: Path) -> None:
    """``python -c <script> URL SHA DEST``, exactly the init container's command."""
    root, base = web_root
    (root / "s.pth").write_bytes(b"sovits")
    dest = tmp_path / "models"
    cmd = [sys.executable, "-c", script_text("http_fetch"), f"{base}/s.pth", sha(b"sovits"), str(dest)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "fetched" in result.stdout
    assert (dest / "s.pth").read_bytes() == b"sovits"


def test_bad_usage_exits_nonzero() -> None:
    result = subprocess.run(
        [sys.executable, "-c", script_text("http_fetch"), "only-one-arg"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "usage" in result.stderr
