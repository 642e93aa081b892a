"""A port taken between choosing it and binding it costs a retry, not a failed start."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from e2e.cluster import Cluster, processes
from e2e.cluster.build import ensure_built
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.settings import ClusterSettings

pytestmark = pytest.mark.cluster


def test_a_taken_port_is_retried_on_new_ports(cluster: Cluster, tmp_path: Path) -> None:
    # `cluster` guarantees the binaries are built; this test runs a second, smaller cluster.
    settings = ClusterSettings(state_dir=tmp_path / "state", name="ports", metrics=False)
    toolset = ensure_built(settings)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        handed_out = iter([port])

        def pick() -> int:
            # The first port handed out (etcd's client port) is the one held open above.
            return next(handed_out, None) or processes.free_port()

        plane = LocalControlPlane(settings, toolset, pick_port=pick)
        pids: list[int] = []
        try:
            handle = plane.up()
            status = plane.status()
            assert status["api_ready"] is True
            pids = [c["pid"] for c in status["components"].values()]
            assert port not in status["components"]["etcd"]["ports"]
            assert "address already in use" in handle.log_files["etcd"].read_text()
            assert handle.kubectl("get", "nodes", "-o", "name").stdout.count("node/") == 3
        finally:
            plane.down()
    assert pids
    assert not [pid for pid in pids if processes.pid_alive(pid)]
