"""What the metrics-pipeline tests talk to: Prometheus' HTTP API and a host-process demo server."""

from __future__ import annotations

import json
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.cluster import processes
from e2e.load import post_tts


@dataclass
class Prometheus:
    """The pipeline's Prometheus, queried over its HTTP API."""

    url: str

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]


@dataclass
class DemoServer:
    """``python -m voice_server --demo`` on a loopback port, as a host process."""

    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tts(self, text: str) -> int:
        """One synthesis request; returns the HTTP status."""
        return post_tts(self.url, text, timeout_s=120)[0]


@contextmanager
def demo_server_running(folder: Path, *server_args: str, ready_s: float = 300.0) -> Iterator[DemoServer]:
    """A ready demo server on the host (small random weights, no download), stopped on exit.

    ``server_args`` are more ``voice_server`` flags, e.g. ``--max-queue 1`` for a small capacity.
    """
    port = processes.free_port()
    log = folder / "server.log"
    argv = [
        sys.executable, "-m", "voice_server", "--demo", "--host", "127.0.0.1", "--port", str(port),
        "--torch-threads", "1", "--log-level", "WARNING", "--drain-delay-s", "0", *server_args,
    ]  # fmt: skip
    component = processes.start("demo-server", argv, log)
    server = DemoServer(port, log)

    def ready() -> bool:
        with urllib.request.urlopen(f"{server.url}/ready", timeout=2) as response:
            return int(response.status) == 200

    try:
        processes.wait_for("ready", ready, ready_s, watch=[component])
        yield server
    finally:
        processes.stop(component, 30)
