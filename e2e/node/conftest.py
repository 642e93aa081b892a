"""Fixtures of the real-node tests: the images in the node's containerd, and the chart's operator pod.

Session-wide: the operator pod is installed once and every module's VoiceServices use it.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import Cluster, ClusterSettings
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.metrics_pipeline import CUSTOM_METRICS_VERSIONS, api_service_name
from e2e.demo_node import demo_model_folder
from e2e.node.node_support import (
    CHART,
    ON_REAL_NODE,
    OPERATOR_IMAGE,
    SERVER_IMAGE,
    get_json,
    helm,
)


@pytest.fixture(scope="session")
def custom_metrics(cluster: Cluster, real_node: LocalControlPlane) -> None:
    """The session cluster serves custom.metrics.k8s.io (its prometheus-adapter is registered)."""
    if ClusterSettings().use_existing:
        pytest.skip("a given cluster: its custom metrics adapter is not this project's")
    for version in CUSTOM_METRICS_VERSIONS:
        available = cluster.kubectl(
            "get", "apiservice", api_service_name(version),
            "-o", 'jsonpath={.status.conditions[?(@.type=="Available")].status}', check=False,
        )  # fmt: skip
        # The opt-in started the pipeline with the session's cluster: unavailable, it is broken.
        assert available.stdout.strip() == "True", f"{api_service_name(version)}: {available.stderr}"


@pytest.fixture(scope="session")
def images(real_node: LocalControlPlane) -> None:
    """The buildah-built operator and server images, present in the node's containerd."""
    started = time.monotonic()
    real_node.load_images([OPERATOR_IMAGE, SERVER_IMAGE])
    print(f"images ready in the node's containerd after {time.monotonic() - started:.0f}s")


@pytest.fixture(scope="session")
def demo_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo model bundle on the host for every VoiceService of the session (pods only read it)."""
    return demo_model_folder(tmp_path_factory.mktemp("models") / "demo")


@pytest.fixture(scope="session")
def voice_namespace(cluster: Cluster, real_node: LocalControlPlane) -> Iterator[str]:
    """One namespace for the release and its voices (the operator pod starts once)."""
    name = f"t-node-voice-{secrets.token_hex(3)}"
    cluster.create_namespace(name)
    try:
        yield name
    finally:
        # Voices first, while the operator still runs to remove its finalizers.
        cluster.kubectl("delete", "vsvc", "--all", "-n", name, "--timeout=120s", check=False)
        helm(cluster, "uninstall", "gsv", "-n", name, "--wait", check=False)
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def operator_pod(cluster: Cluster, images: None, voice_namespace: str) -> dict[str, Any]:
    """``helm install`` of the chart: the operator runs as a pod from its image on the real node."""
    values = {
        "operator": {
            "image": {"pullPolicy": "Never"},
            "watchNamespaces": [voice_namespace],
            "defaultServerImage": SERVER_IMAGE,
            "resyncIntervalSeconds": 5,
            **ON_REAL_NODE,
        }
    }
    started = time.monotonic()
    helm(
        cluster, "install", "gsv", str(CHART), "-n", voice_namespace,
        "--set-json", f"operator={json.dumps(values['operator'])}", "--wait", "--timeout", "300s",
    )  # fmt: skip
    selector = "app.kubernetes.io/component=operator"
    pods = get_json(cluster, "pods", "-n", voice_namespace, "-l", selector)["items"]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    print(f"operator pod Ready {time.monotonic() - started:.1f}s after helm install")
    return dict(pods[0])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the node's stop-and-restart test last: it restarts every pod on the node, the operator too."""
    last = [item for item in items if item.nodeid.startswith("e2e/node/test_node_teardown.py")]
    items[:] = [item for item in items if item not in last] + last
