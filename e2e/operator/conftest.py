"""Fixtures for the operator's tests on a real API server: the CRD and a running operator."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from vsvc_support import CRD_FILE, Kubectl, OperatorProcess, start_operator


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


@pytest.fixture
def operator(
    cluster: Any,
    namespace: str,
    voiceservice_crd: dict[str, Any],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[OperatorProcess]:
    """The operator watching the test's namespace; its log is printed when the test fails."""
    handle = start_operator(cluster, namespace, tmp_path / "operator.log")
    try:
        yield handle
    finally:
        handle.stop()
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            sys.stderr.write(f"\n--- operator log ({handle.log_path}) ---\n{handle.log()[-8000:]}\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
