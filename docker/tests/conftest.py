"""Tools the image, compose and nginx tests need: hadolint, the compose loader, nginx."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCKER_DIR = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("GSV_CACHE_DIR", Path.home() / ".cache" / "gpt-sovits-k8s"))


@pytest.fixture(scope="session")
def docker_dir() -> Path:
    """The repository's docker/ folder."""
    return DOCKER_DIR


@pytest.fixture(scope="session")
def hadolint() -> str:
    """The hadolint binary the dev extra installs beside the interpreter."""
    path = Path(sys.executable).parent / "hadolint"
    if not path.exists():
        pytest.fail(f"hadolint is not installed in {path.parent}; run `make venv`")
    return str(path)


@pytest.fixture(scope="session")
def composecheck() -> str:
    """The compose loader (docker/composecheck), built once and cached by its sources' hash."""
    source = DOCKER_DIR / "composecheck"
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((source / name).read_bytes())
    binary = CACHE / "tools" / f"composecheck-{digest.hexdigest()[:16]}"
    if not binary.exists():
        go = shutil.which("go")
        if go is None:
            pytest.fail("Go is needed to build docker/composecheck and is not on PATH")
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        result = subprocess.run(
            [go, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(partial), "."],
            cwd=source,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"building composecheck failed:\n{result.stderr}")
        partial.rename(binary)
    return str(binary)


@pytest.fixture(scope="session")
def nginx() -> str:
    """Debian's nginx (`make test` installs it)."""
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if path is None:
        pytest.fail("nginx is not installed; `make system-deps` installs it")
    return path
