"""Run the real app under uvicorn on a free loopback port, in a background thread.

``serve(**settings)`` starts a server per test; ``demo_settings`` are the settings of a server on
the demo weights (built once per session into a temporary folder).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from server_api_helpers import StageGate

from gpt_sovits.demo import ensure_demo_bundle
from voice_server.app import create_app
from voice_server.settings import ServerSettings
from voice_server.state import ServerState


class RunningServer:
    """A uvicorn server serving ``create_app(settings)``; ``url`` is its base address."""

    def __init__(self, settings: ServerSettings) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        self.state: ServerState = self.app.state.server
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        # api_v2's /control?command=exit stops this embedded server as SIGTERM stops the CLI's.
        self.state.request_exit = lambda: setattr(self.server, "should_exit", True)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def wait_ready(self, timeout_s: float = 180) -> None:
        """Block until ``/ready`` answers 200 (model loaded, speakers warmed up)."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=10) as http:
            while time.monotonic() < deadline:
                body = http.get(f"{self.url}/ready").json()
                if body["status"] == "ready":
                    return
                if body["status"] == "failed":
                    raise RuntimeError(f"server failed to load: {self.state.failure}")
                time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """serve(**settings) starts a server with those settings; all are stopped after the test."""
    started: list[RunningServer] = []

    def _serve(**overrides: Any) -> RunningServer:
        server = RunningServer(ServerSettings(**overrides))
        server.start()
        started.append(server)
        return server

    yield _serve
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo bundle (random weights, non-speech) for the whole session."""
    folder = tmp_path_factory.mktemp("demo")
    ensure_demo_bundle(folder)
    return folder


@pytest.fixture(scope="session")
def demo_settings(demo_dir: Path) -> dict[str, Any]:
    """Settings of a demo server: short sentences keep each synthesis well under a second."""
    return {"demo": True, "demo_dir": demo_dir, "max_tokens_per_sentence": 20, "drain_delay_s": 0}


def _ready_server(settings: ServerSettings) -> Iterator[RunningServer]:
    server = RunningServer(settings)
    server.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo_server(demo_settings: dict[str, Any]) -> Iterator[RunningServer]:
    """A ready demo server shared by a test module (cache on, default batching)."""
    yield from _ready_server(ServerSettings(**demo_settings))


@pytest.fixture(scope="module")
def pro_demo_server(demo_settings: dict[str, Any]) -> Iterator[RunningServer]:
    """A ready demo server on v2ProPlus weights (with an API key), shared by a test module."""
    yield from _ready_server(ServerSettings(**demo_settings, demo_version="v2ProPlus", api_key="pro-key"))


@pytest.fixture(autouse=True)
def _open_stage_gates() -> Iterator[None]:
    yield
    StageGate.open_all()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http
