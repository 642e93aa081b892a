"""The built kubectl and helm carry their pinned versions and work against the cluster."""

from __future__ import annotations

import json
import subprocess

import pytest

from e2e.cluster import Cluster
from e2e.cluster.versions import HELM_VERSION, KUBERNETES_VERSION

pytestmark = pytest.mark.cluster


def test_kubectl_and_server_report_the_pinned_release(cluster: Cluster) -> None:
    versions = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    if not (cluster.bin_dir / "kubectl").is_file():
        pytest.skip("a given cluster whose kubectl is not this project's build")
    assert versions["clientVersion"]["gitVersion"] == KUBERNETES_VERSION
    if cluster.log_files:  # a cluster this project started (a given one may run any release)
        assert versions["serverVersion"]["gitVersion"] == KUBERNETES_VERSION


def test_helm_reports_its_version_and_reaches_the_cluster(cluster: Cluster, namespace: str) -> None:
    helm = cluster.bin_dir / "helm"
    if not helm.is_file():
        pytest.skip("a given cluster without this project's helm build")
    version = subprocess.run(
        [str(helm), "version", "--short"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=cluster.env(),
    )
    assert version.stdout.startswith(HELM_VERSION)
    listed = subprocess.run(
        [str(helm), "list", "-n", namespace, "-o", "json"],
        capture_output=True, text=True, check=True, timeout=60, env=cluster.env(),
    )  # fmt: skip
    assert json.loads(listed.stdout) == []
