"""Fixtures of the metrics-pipeline tests: Prometheus' URL, a demo server, a namespace for the module.

The tests need the session cluster to run the metrics pipeline (Prometheus and prometheus-adapter,
built from Go modules on first use): ``GSV_E2E_METRICS_PIPELINE=1``, which ``make test`` and
``make test-autoscaling`` set; without it e2e/conftest.py does not collect them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from e2e.autoscaling.pipeline_support import DemoServer, Prometheus, demo_server_running
from e2e.cluster import Cluster, ClusterSettings
from e2e.cluster.metrics_pipeline import MetricsPipelineError, prometheus_url


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
    with demo_server_running(tmp_path_factory.mktemp("server")) as server:
        yield server


@pytest.fixture(scope="module")
def module_namespace(cluster: Cluster) -> Iterator[str]:
    """One namespace for a module's objects, deleted afterwards without waiting."""
    name = f"t-metrics-{secrets.token_hex(3)}"
    cluster.create_namespace(name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
