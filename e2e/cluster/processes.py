"""Starting, watching and stopping the control-plane processes.

Each component runs in its own session (process group) with its output in a log file, and its pid
is recorded, so a later ``down`` (from another process) can stop it. Every wait has a deadline and
checks that the component is still alive, so a crash surfaces at once with the log's tail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

_POLL_S = 0.2
_TAIL_LINES = 40
# Text a component logs when its port was taken between our check and its bind.
_PORT_CLASH_MARKERS = ("address already in use",)
_START_MARKER = "\n=== "


class ComponentError(RuntimeError):
    """A component exited or did not become ready in time; the message carries its log tail."""

    def __init__(self, name: str, log_file: Path, reason: str) -> None:
        self.name = name
        self.log_file = log_file
        self.reason = reason
        super().__init__(f"{name} {reason} (log: {log_file})\n--- last lines ---\n{log_tail(log_file)}")


class PortClashError(ComponentError):
    """The component died because one of its ports was taken; the caller retries on new ports."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = _TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file ('' when it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the command name, which is in parentheses and may contain spaces.
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def pid_runs(pid: int, executable: Path) -> bool:
    """True when ``pid`` is alive and still runs ``executable`` (guards against pid reuse)."""
    if not pid_alive(pid):
        return False
    try:
        exe = str(Path(f"/proc/{pid}/exe").readlink())
    except OSError:
        return False
    # /proc shows the resolved path (with " (deleted)" once the file was replaced or pruned).
    return exe.removesuffix(" (deleted)") == str(executable.resolve())


@dataclass
class Component:
    """One running (or exited) component process."""

    name: str
    argv: list[str]
    log_file: Path
    pid: int
    popen: subprocess.Popen[bytes] | None = None

    @property
    def executable(self) -> Path:
        """The binary it runs."""
        return Path(self.argv[0])

    def exit_code(self) -> int | None:
        """Exit status when it has ended, else ``None``; -1 when it ended but was not our child."""
        if self.popen is not None:
            return self.popen.poll()
        return None if pid_runs(self.pid, self.executable) else -1

    def check_running(self) -> None:
        """Raise :class:`ComponentError` (or :class:`PortClashError`) if the process has ended."""
        code = self.exit_code()
        if code is None:
            return
        # Only this start's output counts: the log also holds earlier attempts.
        tail = log_tail(self.log_file).rsplit(_START_MARKER, 1)[-1].lower()
        error = PortClashError if any(m in tail for m in _PORT_CLASH_MARKERS) else ComponentError
        raise error(self.name, self.log_file, f"exited with code {code}")


def start(name: str, argv: Sequence[str], log_file: Path, env: dict[str, str] | None = None) -> Component:
    """Start ``argv`` in its own session with stdout and stderr appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as sink:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        sink.write(f"{_START_MARKER}{stamp} starting: {' '.join(argv)}\n".encode())
        sink.flush()
        # A new session: the CLI can exit and leave it running, and a signal to the group stops
        # anything it forked. stdin is closed so nothing waits on a terminal.
        popen = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )  # fmt: skip
    return Component(name=name, argv=list(argv), log_file=log_file, pid=popen.pid, popen=popen)


def wait_for(
    what: str,
    ready: Callable[[], bool],
    timeout: float,
    watch: Sequence[Component] = (),
) -> None:
    """Poll ``ready`` until it returns True; fail on timeout or as soon as a watched process ends.

    Exceptions from ``ready`` count as "not yet" (a server that is still starting refuses
    connections), but the last one is quoted if time runs out. On timeout the error names
    ``watch[0]`` (the component the condition depends on most) with its log tail.
    """
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        for component in watch:
            component.check_running()
        try:
            if ready():
                return
        except Exception as err:
            last_error = f"; last probe error: {err}"
        if time.monotonic() >= deadline:
            if watch:
                raise ComponentError(
                    watch[0].name, watch[0].log_file, f"not {what} after {timeout:.0f}s{last_error}"
                )
            raise TimeoutError(f"{what}: not reached after {timeout:.0f}s{last_error}")
        time.sleep(_POLL_S)


def stop(component: Component, grace: float) -> None:
    """SIGTERM the component's process group, then SIGKILL it after ``grace`` seconds."""
    _stop_pid(component.pid, component.executable, grace, component.popen)


def stop_recorded(pid: int, executable: Path, grace: float) -> None:
    """Stop a component recorded by another process (``down`` after ``up``)."""
    _stop_pid(pid, executable, grace, None)


def _alive(pid: int, executable: Path, popen: subprocess.Popen[bytes] | None) -> bool:
    if popen is not None:
        return popen.poll() is None
    return pid_runs(pid, executable)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The component leads its own process group (start_new_session), so pgid == pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _stop_pid(pid: int, executable: Path, grace: float, popen: subprocess.Popen[bytes] | None) -> None:
    if not _alive(pid, executable, popen):
        if popen is not None:
            popen.wait(timeout=5)  # reap it, so no zombie is left behind
        return
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid, executable, popen):
        time.sleep(_POLL_S)
    if _alive(pid, executable, popen):
        _signal_group(pid, signal.SIGKILL)
        kill_deadline = time.monotonic() + 10
        while time.monotonic() < kill_deadline and _alive(pid, executable, popen):
            time.sleep(_POLL_S)
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=5)
