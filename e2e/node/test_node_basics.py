"""The real node: Ready beside the kwok nodes, tainted, and only tolerating pods land on it."""

from __future__ import annotations

import json
import time

import pytest

from e2e.cluster import Cluster
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.node import NODE_NAME
from e2e.cluster.node_config import NODE_LABEL, NODE_TAINT

pytestmark = pytest.mark.cluster


def test_real_node_is_ready_tainted_and_runs_containerd(
    cluster: Cluster, real_node: LocalControlPlane
) -> None:
    node = json.loads(cluster.kubectl("get", "node", NODE_NAME, "-o", "json").stdout)
    assert node["metadata"]["labels"][NODE_LABEL] == "true"
    assert NODE_TAINT in node["spec"]["taints"]
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.36.3"
    assert info["containerRuntimeVersion"].startswith("containerd://")
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == "10.123.0.1"
    names = cluster.kubectl("get", "nodes", "-o", "name").stdout.split()
    assert {"node/kwok-gpu-0", "node/kwok-gpu-1", "node/kwok-cpu-0", f"node/{NODE_NAME}"} <= set(names)


def test_pods_without_the_toleration_stay_on_kwok_nodes(
    cluster: Cluster, real_node: LocalControlPlane, namespace: str
) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "plain", "namespace": namespace},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "plain"}},
            "template": {
                "metadata": {"labels": {"app": "plain"}},
                "spec": {"containers": [{"name": "c", "image": "never-pulled:1"}]},
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(deployment))
    deadline = time.monotonic() + 60
    nodes: list[str] = []
    while time.monotonic() < deadline:
        pods = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
        nodes = [p["spec"].get("nodeName", "") for p in pods]
        if len(nodes) == 4 and all(nodes):
            break
        time.sleep(0.5)
    assert len(nodes) == 4
    assert all(nodes), nodes
    assert NODE_NAME not in nodes
