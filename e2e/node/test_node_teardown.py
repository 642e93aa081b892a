"""Stopping the real node puts the host back as it was; starting it again works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from e2e.cluster import Cluster
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.node import NODE_NAME
from e2e.cluster.node_host import (
    HOST_RECORD,
    IPTABLES,
    SYSCTLS,
    TABLES,
    HostRecord,
    chains,
    link_exists,
    read_sysctl,
)

pytestmark = pytest.mark.cluster


def _mounts_below(root: str) -> list[str]:
    points = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [p for p in points if p == root or p.startswith(root + "/")]


def test_stop_restores_the_host_and_the_node_starts_again(
    cluster: Cluster, real_node: LocalControlPlane
) -> None:
    before = HostRecord.load()
    assert before is not None
    assert link_exists(before.bridge)
    assert _mounts_below(before.node_root), "a running node has its kubelet root mounted"

    assert real_node.stop_real_node() == []

    assert not HOST_RECORD.exists()
    assert not link_exists(before.bridge)
    assert {name: read_sysctl(name) for name in SYSCTLS} == before.sysctls
    for binary in IPTABLES:
        for table in TABLES:
            assert chains(binary, table) == before.chains[binary][table], (binary, table)
    assert _mounts_below(before.node_root) == []
    assert _mounts_below(before.store) == []
    left = [p for p in Path("/sys/fs/cgroup").glob("*/k8s.io") if str(p) not in before.cgroups_before]
    assert left == []

    real_node.start_real_node()
    node = json.loads(cluster.kubectl("get", "node", NODE_NAME, "-o", "json").stdout)
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True"
