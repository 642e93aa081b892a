"""The apiserver relay copies bytes both ways and stops on SIGTERM."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from e2e.cluster.processes import free_port

ROOT = Path(__file__).resolve().parents[3]


def _echo_server() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def test_relay_copies_both_ways_and_exits_on_sigterm() -> None:
    server, target = _echo_server()
    listen = free_port()
    relay = subprocess.Popen(
        [sys.executable, "-m", "e2e.cluster.forward", f"127.0.0.1:{listen}", f"127.0.0.1:{target}"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert relay.stdout is not None
        assert "relaying" in relay.stdout.readline()
        with socket.create_connection(("127.0.0.1", listen), timeout=5) as client:
            payload = b"x" * 200_000
            client.sendall(payload)
            received = b""
            deadline = time.monotonic() + 10
            while len(received) < len(payload) and time.monotonic() < deadline:
                received += client.recv(65536)
        assert received == payload.upper()
    finally:
        relay.terminate()
        assert relay.wait(timeout=10) == 0
        server.close()
