"""Fixtures of the metrics-pipeline tests: Prometheus' URL, a demo server, a namespace for the module.

The tests need the session cluster to run the metrics pipeline (Prometheus and prometheus-adapter),
which is opt-in: without ``GSV_E2E_METRICS_PIPELINE=1`` they are not collected, so ``make test``
neither builds the adapter nor needs Debian's prometheus package.
"""

from __future__ import annotations

import secrets
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from e2e.autoscaling.pipeline_support import DemoServer, Prometheus
from e2e.cluster import Cluster, ClusterSettings, processes
from e2e.cluster.metrics_pipeline import MetricsPipelineError, prometheus_url
from e2e.cluster.processes import free_port

collect_ignore_glob = [] if ClusterSettings().metrics_pipeline else ["test_*.py"]

_SERVER_READY_S = 300.0


@pytest.fixture(scope="session")
def prometheus(cluster: Cluster) -> Prometheus:
    """The session cluster's Prometheus (skips for a given cluster: its Prometheus is unknown)."""
    if ClusterSettings().use_existing:
        pytest.skip("a given cluster: its Prometheus is not this project's")
    try:
        return Prometheus(prometheus_url(cluster.kubeconfig.parent))
    except MetricsPipelineError as err:
        # The opt-in started the pipeline with the session's cluster: missing, it is broken.
        pytest.fail(str(err))


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """A ready demo server on the host (small random weights, no download)."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    argv = [
        sys.executable, "-m", "voice_server", "--demo", "--host", "127.0.0.1", "--port", str(port),
        "--torch-threads", "1", "--log-level", "WARNING", "--drain-delay-s", "0",
    ]  # fmt: skip
    component = processes.start("demo-server", argv, log)
    server = DemoServer(port, log)

    def ready() -> bool:
        with urllib.request.urlopen(f"{server.url}/ready", timeout=2) as response:
            return int(response.status) == 200

    try:
        processes.wait_for("ready", ready, _SERVER_READY_S, watch=[component])
        yield server
    finally:
        processes.stop(component, 30)


@pytest.fixture(scope="module")
def module_namespace(cluster: Cluster) -> Iterator[str]:
    """One namespace for a module's objects, deleted afterwards without waiting."""
    name = f"t-metrics-{secrets.token_hex(3)}"
    cluster.create_namespace(name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
