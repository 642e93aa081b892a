"""The ``python -m e2e.cluster`` command line, on a cluster that is not running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "e2e.cluster"]
ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def test_usage_without_a_command() -> None:
    result = _run()
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert "down" in result.stderr


def test_a_bad_flag_is_refused() -> None:
    result = _run("status", "--name", "Not_A_Name")
    assert result.returncode == 2
    assert "--name" in result.stderr


def test_status_and_down_of_a_cluster_that_never_ran(tmp_path: Path) -> None:
    status = _run("status", "--cache-dir", str(tmp_path), "--name", "ghost")
    assert status.returncode == 1
    report = json.loads(status.stdout)
    assert report["api_ready"] is False
    assert report["components"] == {}
    assert report["state_dir"] == str(tmp_path / "clusters" / "ghost")
    down = _run("down", "--cache-dir", str(tmp_path), "--name", "ghost")
    assert down.returncode == 0, down.stderr


def test_env_prints_shell_lines(tmp_path: Path) -> None:
    result = _run("env", "--state-dir", str(tmp_path / "c"))
    assert result.returncode == 0, result.stderr
    assert f"export KUBECONFIG={tmp_path / 'c' / 'kubeconfig'}" in result.stdout
    assert "export PATH=" in result.stdout
