"""scripts/venv.sh, run for real: the fresh-machine branch and the reuse branch.

The script is run as it is, against an empty cache folder, on a copy of the checkout whose
pyproject names one tiny package instead of torch and friends: the code path is the one a new
machine takes (create the environment, install, mark complete, drop older environments), and it
takes seconds instead of minutes. pip may answer from its own download cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "venv.sh"

PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "venv-probe"
version = "0.0.1"
requires-python = ">=3.11"
dependencies = []

[project.optional-dependencies]
server = []
operator = []
dev = [{dev!r}]

[tool.setuptools]
packages = ["venv_probe"]
"""


def _checkout(root: Path, dev: str = "iniconfig") -> Path:
    """A minimal project laid out like ours: scripts/venv.sh beside a pyproject."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "scripts" / "venv.sh")
    (root / "venv_probe").mkdir()
    (root / "venv_probe" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(PYPROJECT.format(dev=dev))
    return root


def _run(checkout: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "GSV_CACHE_DIR": str(cache),
        "PYTHON": sys.executable,
    }
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "venv.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_a_fresh_machine_installs_on_the_first_try(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path / "clone")
    cache = tmp_path / "empty-cache"  # not even the folder exists, as on a new machine
    first = _run(checkout, cache, "ensure")
    assert first.returncode == 0, first.stderr
    venv = Path(first.stdout.strip())
    assert venv.parent == cache
    assert (venv / ".complete").is_file()
    assert (
        subprocess.run(
            [venv / "bin" / "python", "-c", "import venv_probe, iniconfig"], check=False
        ).returncode
        == 0
    )
    # The second run reuses it without installing anything.
    again = _run(checkout, cache, "ensure")
    assert (again.returncode, again.stdout.strip()) == (0, str(venv))
    assert "creating" not in again.stderr


@pytest.mark.slow
def test_older_environments_are_dropped_keeping_the_previous_one(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    older, previous = cache / "venv-0000000000000001", cache / "venv-0000000000000002"
    for age, folder in ((200, older), (100, previous)):
        folder.mkdir()
        os.utime(folder, (time.time() - age, time.time() - age))
    result = _run(_checkout(tmp_path / "clone"), cache, "ensure")
    assert result.returncode == 0, result.stderr
    kept = {p.name for p in cache.glob("venv-*")}
    assert kept == {Path(result.stdout.strip()).name, previous.name}


def test_path_names_the_environment_without_creating_it(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path / "clone")
    result = _run(checkout, tmp_path / "cache", "path")
    assert result.returncode == 0
    assert Path(result.stdout.strip()).name.startswith("venv-")
    assert not (tmp_path / "cache").exists()
