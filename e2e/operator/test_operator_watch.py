"""The operator keeps reacting after its connections to the API server stall or drop.

A known failure of watch-based operators: the TCP connection of a watch goes silent (a restarted
API server, a load balancer dropping state) and the operator waits forever while its liveness
probe stays green. Between the operator and the API server sits a TCP proxy that can freeze every
open connection (bytes are swallowed, nothing is closed) or close everything and refuse
connections for a while, as a restarting API server does. A VoiceService created afterwards must
still be reconciled, thanks to the watch timeouts.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from vsvc_support import Kubectl, OperatorProcess, start_operator, voiceservice, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# start_operator sets watch timeouts of 10 s (server) and 15 s (client). kopf's own inactivity
# timeout (70 s) would also end a stalled watch, but later than this bound: the test fails when our
# timeouts are not in effect.
STALL_RECOVERY_S = 45.0
RESTART_RECOVERY_S = 60.0


@dataclass
class _Pair:
    client: socket.socket
    upstream: socket.socket
    frozen: bool = False

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@dataclass
class StallingProxy:
    """A TCP proxy to ``target`` that can freeze its connections or go away for a while."""

    target: tuple[str, int]
    port: int = 0
    pairs: list[_Pair] = field(default_factory=list)
    _listener: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                self.pairs.append(pair)
            threading.Thread(target=self._pump, args=(pair, client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, upstream, client), daemon=True).start()

    @staticmethod
    def _pump(pair: _Pair, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if pair.frozen:
                if not data:
                    return  # swallow the close too: the other side must not notice
                continue
            if not data:
                pair.close()
                return
            try:
                sink.sendall(data)
            except OSError:
                return

    def freeze_open_connections(self) -> int:
        """Silently stall every open connection; new ones still work."""
        with self._lock:
            for pair in self.pairs:
                pair.frozen = True
            return len(self.pairs)

    def restart(self, down_s: float) -> None:
        """Close everything, refuse connections for ``down_s`` seconds, then serve again."""
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            pair.close()
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for pair in self.pairs:
                pair.close()


@pytest.fixture
def proxied_operator(
    cluster: Any, namespace: str, voiceservice_crd: Any, tmp_path: Path
) -> Iterator[tuple[StallingProxy, OperatorProcess]]:
    """An operator that reaches the API server only through a :class:`StallingProxy`."""
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text(encoding="utf-8"))
    server = urlparse(config["clusters"][0]["cluster"]["server"])
    assert server.hostname is not None
    proxy = StallingProxy((server.hostname, server.port or 443))
    proxy.start()
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"{server.scheme}://{server.hostname}:{proxy.port}"
    proxied = tmp_path / "kubeconfig-proxied"
    proxied.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**cluster.env(), "KUBECONFIG": str(proxied)}
    handle = start_operator(cluster, namespace, tmp_path / "operator.log", env)
    try:
        yield proxy, handle
    finally:
        handle.stop()
        proxy.stop()
        print(f"--- operator log ---\n{handle.log()[-6000:]}")


def test_stalled_watch_recovers(
    kubectl: Kubectl, proxied_operator: tuple[StallingProxy, OperatorProcess]
) -> None:
    proxy, operator = proxied_operator
    kubectl.apply(voiceservice("before"))
    wait_for("the first Deployment", lambda: kubectl.get("deployment", "before"))

    assert proxy.freeze_open_connections() > 0
    kubectl.apply(voiceservice("after-stall"))
    wait_for(
        "the operator to notice a VoiceService created after the stall",
        lambda: kubectl.get("deployment", "after-stall"),
        timeout=STALL_RECOVERY_S,
    )
    assert operator.process.poll() is None


def test_api_server_restart_is_survived(
    kubectl: Kubectl, proxied_operator: tuple[StallingProxy, OperatorProcess]
) -> None:
    proxy, operator = proxied_operator
    kubectl.apply(voiceservice("before"))
    wait_for("the first Deployment", lambda: kubectl.get("deployment", "before"))

    # Created while the operator cannot reach the API server at all.
    restart = threading.Thread(target=proxy.restart, args=(5.0,))
    restart.start()
    kubectl.apply(voiceservice("during-outage"))
    restart.join()
    kubectl.apply(voiceservice("after-restart"))
    for name in ("during-outage", "after-restart"):
        wait_for(
            f"the Deployment of {name}",
            lambda n=name: kubectl.get("deployment", n),
            timeout=RESTART_RECOVERY_S,
        )
    assert operator.process.poll() is None
