"""Fixtures of the metrics-pipeline tests: Prometheus' URL, a demo server, a namespace for the module.

The tests need the session cluster to run the metrics pipeline (Prometheus and prometheus-adapter),
which is opt-in: without ``GSV_E2E_METRICS_PIPELINE=1`` they are not collected, so ``make test``
neither builds the adapter nor needs Debian's prometheus package.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from e2e.autoscaling.pipeline_support import DemoServer, Prometheus
from e2e.cluster import Cluster, ClusterSettings
from e2e.cluster.metrics_pipeline import MetricsPipelineError, prometheus_url
from e2e.cluster.processes import free_port, log_tail, wait_for

collect_ignore_glob = [] if ClusterSettings().metrics_pipeline else ["test_*.py"]

_SERVER_READY_S = 300.0
_SA_WAIT_S = 60.0


@pytest.fixture(scope="session")
def prometheus(cluster: Cluster) -> Prometheus:
    """The session cluster's Prometheus (skips for a given cluster: its Prometheus is unknown)."""
    try:
        return Prometheus(prometheus_url(cluster.kubeconfig.parent))
    except MetricsPipelineError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """A ready demo server on the host (small random weights, no download)."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    argv = [
        sys.executable, "-m", "voice_server", "--demo", "--host", "127.0.0.1", "--port", str(port),
        "--torch-threads", "1", "--log-level", "WARNING", "--drain-delay-s", "0",
    ]  # fmt: skip
    with log.open("wb") as sink:
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
    server = DemoServer(port, popen, log)

    def ready() -> bool:
        if popen.poll() is not None:
            raise RuntimeError(f"the demo server exited with {popen.returncode}:\n{log_tail(log)}")
        with urllib.request.urlopen(f"{server.url}/ready", timeout=2) as response:
            return int(response.status) == 200

    try:
        try:
            wait_for("demo server ready", ready, _SERVER_READY_S)
        except TimeoutError as err:
            raise RuntimeError(f"{err}\n{log_tail(log)}") from err
        yield server
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


@pytest.fixture(scope="module")
def module_namespace(cluster: Cluster) -> Iterator[str]:
    """One namespace for a module's objects, deleted afterwards without waiting."""
    name = f"t-metrics-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", name)
    deadline = time.monotonic() + _SA_WAIT_S
    while cluster.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"namespace {name}: no default ServiceAccount after {_SA_WAIT_S:.0f}s")
        time.sleep(0.2)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
