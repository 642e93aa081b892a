"""scripts/alongside.sh, run for real with small shell commands standing in for the builds."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from e2e.cluster.processes import pid_alive

SCRIPT = Path(__file__).resolve().parents[1] / "alongside.sh"


def _run(tmp_path: Path, background: str, *foreground: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), str(tmp_path / "logs" / "bg.log"), background, "--", *foreground],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_both_run_at_once_and_the_script_waits_for_the_background(tmp_path: Path) -> None:
    marker = tmp_path / "built"
    seen = tmp_path / "seen-while-building"
    # The foreground sees the background's first file before the background has finished.
    background = f"touch {tmp_path}/started; sleep 1; echo compiled; touch {marker}"
    foreground = f"until [ -e {tmp_path}/started ]; do sleep 0.05; done; [ -e {marker} ] || touch {seen}"
    result = _run(tmp_path, background, "bash", "-c", foreground)
    assert result.returncode == 0, result.stdout + result.stderr
    assert seen.exists(), "the foreground ran only after the background had finished"
    assert marker.exists(), "the script returned before the background finished"
    assert "compiled" in (tmp_path / "logs" / "bg.log").read_text()
    assert "the background command is done" in result.stdout


def test_a_failing_foreground_stops_the_whole_background_group_and_keeps_its_exit_code(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "built"
    pid_file = tmp_path / "child.pid"
    # The background's child process (a sleep) must be stopped too, not only the shell above it.
    background = f"sleep 30 & echo $! > {pid_file}; wait; touch {marker}"
    foreground = f"until [ -s {pid_file} ]; do sleep 0.05; done; exit 3"
    start = time.monotonic()
    result = _run(tmp_path, background, "bash", "-c", foreground)
    assert result.returncode == 3, result.stdout + result.stderr
    assert time.monotonic() - start < 20
    assert "the foreground one failed (exit code 3)" in result.stdout
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child), "the background's child outlived the script"
    assert not marker.exists()


def test_a_failing_background_is_reported_with_its_log_tail_but_does_not_fail_the_run(
    tmp_path: Path,
) -> None:
    result = _run(tmp_path, "echo 'go: module lookup refused'; exit 7", "true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the background command failed (exit code 7)" in result.stdout
    assert "go: module lookup refused" in result.stdout


def test_a_call_without_the_separator_is_refused_with_the_usage(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(SCRIPT), str(tmp_path / "bg.log"), "true", "true"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr
