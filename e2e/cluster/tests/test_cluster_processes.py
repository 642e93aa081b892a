"""Process handling: crashes are reported with the log tail, waits end, stops leave nothing."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from e2e.cluster import processes
from e2e.cluster.processes import ComponentError, PortClashError

PY = sys.executable


def test_a_crashed_component_is_reported_with_its_log_tail(tmp_path: Path) -> None:
    log_file = tmp_path / "crash.log"
    comp = processes.start("crasher", [PY, "-c", "print('boom: bad flag'); raise SystemExit(3)"], log_file)
    with pytest.raises(ComponentError) as info:
        processes.wait_for("ready", lambda: False, timeout=30, watch=[comp])
    assert "crasher exited with code 3" in str(info.value)
    assert "boom: bad flag" in str(info.value)
    assert str(log_file) in str(info.value)


def test_a_port_clash_is_recognised(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = f"import socket; s = socket.socket(); s.bind(('127.0.0.1', {port}))"
        comp = processes.start("binder", [PY, "-c", code], tmp_path / "bind.log")
        with pytest.raises(PortClashError):
            processes.wait_for("ready", lambda: False, timeout=30, watch=[comp])


def test_a_wait_times_out_and_quotes_the_last_probe_error(tmp_path: Path) -> None:
    comp = processes.start("sleeper", [PY, "-c", "import time; time.sleep(60)"], tmp_path / "s.log")
    try:

        def probe() -> bool:
            raise ConnectionRefusedError("nobody listens")

        with pytest.raises(ComponentError, match="nobody listens"):
            processes.wait_for("listening", probe, timeout=0.5, watch=[comp])
    finally:
        processes.stop(comp, grace=5)
    assert not processes.pid_alive(comp.pid)


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    code = "; ".join(
        (
            "import signal, time",
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
            "print('up', flush=True)",
            "time.sleep(60)",
        )
    )
    log_file = tmp_path / "stubborn.log"
    comp = processes.start("stubborn", [PY, "-c", code], log_file)
    processes.wait_for("started", lambda: "up" in log_file.read_text(), timeout=30, watch=[comp])
    processes.stop(comp, grace=0.5)
    assert comp.exit_code() is not None
    assert not processes.pid_alive(comp.pid)


def test_recorded_pids_are_only_stopped_when_they_run_the_recorded_binary(tmp_path: Path) -> None:
    comp = processes.start("sleeper", [PY, "-c", "import time; time.sleep(60)"], tmp_path / "s.log")
    try:
        exe = Path(PY).resolve()
        assert processes.pid_runs(comp.pid, exe)
        # A reused pid running something else must not be signalled.
        assert not processes.pid_runs(comp.pid, tmp_path / "other-binary")
        processes.stop_recorded(comp.pid, tmp_path / "other-binary", grace=0.5)
        assert comp.exit_code() is None
        processes.stop_recorded(comp.pid, exe, grace=5)
        comp.popen.wait(timeout=10) if comp.popen else None
        assert comp.exit_code() is not None
    finally:
        processes.stop(comp, grace=1)


def test_free_port_can_be_bound() -> None:
    port = processes.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_an_earlier_attempts_port_clash_does_not_mislabel_a_later_crash(tmp_path: Path) -> None:
    log_file = tmp_path / "retry.log"
    first = processes.start(
        "retry", [PY, "-c", "print('bind: address already in use'); raise SystemExit(1)"], log_file
    )
    with pytest.raises(PortClashError):
        processes.wait_for("ready", lambda: False, timeout=30, watch=[first])
    second = processes.start("retry", [PY, "-c", "print('bad config'); raise SystemExit(1)"], log_file)
    with pytest.raises(ComponentError) as info:
        processes.wait_for("ready", lambda: False, timeout=30, watch=[second])
    assert not isinstance(info.value, PortClashError)
    assert "bad config" in str(info.value)
