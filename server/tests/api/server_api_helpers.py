"""Small helpers shared by the HTTP tests (a module with a unique name, not a conftest import)."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
from prometheus_client.parser import text_string_to_metric_families


def metric_value(exposition: str, sample: str) -> float:
    """The value of one sample, e.g. ``gsv_cache_hits_total`` or ``gsv_batch_size_count{stage="gpt"}``.

    Missing samples read as 0 (a labelled counter appears only once it is used).
    """
    name, _, labels = sample.partition("{")
    wanted = dict(part.split("=", 1) for part in labels.rstrip("}").split(",") if part)
    wanted = {key: value.strip('"') for key, value in wanted.items()}
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in wanted.items()):
                return float(s.value)
    return 0.0


@dataclass
class ServerProcess:
    """A ``gpt-sovits-server`` child process and its base URL."""

    popen: subprocess.Popen[bytes]
    url: str
    log: Path

    def memory(self) -> int:
        """Anonymous resident memory (heap, arenas, tensors) in bytes: what a leak grows.

        ``VmRSS`` also counts file-backed pages of the libraries, which creep up as code paths
        run for the first time without any leak.
        """
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no RssAnon in /proc/<pid>/status")

    def open_files(self) -> int:
        return len(list(Path(f"/proc/{self.popen.pid}/fd").iterdir()))

    def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(
                    f"server exited {self.popen.returncode}:\n{self.log.read_text()[-4000:]}"
                )
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not ready:\n{self.log.read_text()[-4000:]}")


class StageGate:
    """Holds every batch of one model stage until the test opens the gate.

    ``entered`` is set when a batch reaches the stage, so a test knows a request is in progress
    (rather than assuming a synthesis takes longer than some sleep).
    """

    #: Every gate not yet opened; the API tests' conftest opens them all after each test.
    live: ClassVar[list[StageGate]] = []

    def __init__(self, batcher: Any) -> None:
        StageGate.live.append(self)
        self.entered = threading.Event()
        self._open = threading.Event()
        self._batcher = batcher
        self._inner = batcher._run_batch
        batcher._run_batch = self._run

    def _run(self, items: Any) -> Any:
        self.entered.set()
        assert self._open.wait(60), "the test never opened the gate"
        return self._inner(items)

    def wait_entered(self, timeout_s: float = 30) -> None:
        assert self.entered.wait(timeout_s), "no batch reached the stage"

    def open(self) -> None:
        self._open.set()

    def remove(self) -> None:
        self.open()
        self._batcher._run_batch = self._inner

    @classmethod
    def open_all(cls) -> None:
        """Open every gate (a failing test must not leave a stage's worker blocked)."""
        while cls.live:
            cls.live.pop().open()


def wait_until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    """Poll ``condition`` until it holds (a bounded wait for state another thread changes)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


async def until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    """Yield to the event loop until ``condition`` holds (bounded, so a test never hangs; generous,
    so a loaded CI machine is not mistaken for a bug)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.005)
