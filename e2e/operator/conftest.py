"""Fixtures for the operator's tests on a real API server: the CRD and a running operator."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from vsvc_support import (
    CRD_FILE,
    Kubectl,
    OperatorProcess,
    chart_rbac,
    service_account_kubeconfig,
    start_operator,
)


@pytest.fixture(scope="session")
def voiceservice_crd(cluster: Any) -> dict[str, Any]:
    """The CRD installed (server-side apply, as an upgrade would) and Established."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_FILE))
    name = yaml.safe_load(CRD_FILE.read_text(encoding="utf-8"))["metadata"]["name"]
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    return dict(json.loads(cluster.kubectl("get", "crd", name, "-o", "json").stdout))


@pytest.fixture
def kubectl(cluster: Any, namespace: str, voiceservice_crd: dict[str, Any]) -> Kubectl:
    """kubectl in the test's namespace, with the CRD installed."""
    return Kubectl(cluster, namespace)


def _until_done(handle: OperatorProcess, request: pytest.FixtureRequest) -> Iterator[OperatorProcess]:
    """Yield the running operator, stop it afterwards and print its log when the test failed."""
    try:
        yield handle
    finally:
        handle.stop()
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            sys.stderr.write(f"\n--- operator log ({handle.log_path}) ---\n{handle.log()[-8000:]}\n")


@pytest.fixture
def operator(
    cluster: Any,
    namespace: str,
    voiceservice_crd: dict[str, Any],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[OperatorProcess]:
    """The operator watching the test's namespace; its log is printed when the test fails."""
    yield from _until_done(start_operator(cluster, namespace, tmp_path / "operator.log"), request)


@pytest.fixture
def chart_rbac_operator(
    cluster: Any,
    namespace: str,
    voiceservice_crd: dict[str, Any],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[OperatorProcess]:
    """The operator with nothing but the permissions the chart grants it (cluster-wide mode).

    It runs as the chart's ServiceAccount: a request its ClusterRole does not allow fails the
    reconcile, as it would in a real install.
    """
    release = f"rbac-{secrets.token_hex(4)}"  # names cluster-wide objects: unique per test
    objects = chart_rbac(cluster, namespace, release)
    cluster.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    )
    try:
        (account,) = [o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"]
        kubeconfig = service_account_kubeconfig(cluster, namespace, account, tmp_path / "operator.kubeconfig")
        env = {**cluster.env(), "KUBECONFIG": str(kubeconfig)}
        yield from _until_done(start_operator(cluster, namespace, tmp_path / "operator.log", env), request)
    finally:
        for kind in ("ClusterRoleBinding", "ClusterRole"):
            cluster.kubectl("delete", kind, release, "--ignore-not-found", "--wait=false", check=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
