"""The chart on a real API server: dry-run validation, install, upgrade, CRD upgrade path, uninstall."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.cluster import Cluster

CHART = Path(__file__).resolve().parents[2] / "charts" / "gpt-sovits"
pytestmark = pytest.mark.cluster


def _helm(cluster: Cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(cluster.bin_dir / "helm"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=cluster.env(),
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _get(cluster: Cluster, *args: str) -> dict[str, Any]:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def _wait_for(predicate, what: str, deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.fixture
def release_name(namespace: str) -> str:
    return namespace[:20].rstrip("-") + "-gsv"


@pytest.fixture
def chart_crds(cluster: Cluster) -> None:
    """The chart's CRDs, applied the way the documented upgrade path does."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CHART / "crds"))
    for crd in ("voiceservices.voice.gpt-sovits.io", "clusterkopfpeerings.kopf.dev"):
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")


@pytest.mark.parametrize("scenario", ["default", "namespaced", "full"])
def test_rendered_manifests_pass_server_side_dry_run(
    cluster: Cluster, namespace: str, chart_crds: None, scenario: str
) -> None:
    rendered = _helm(
        cluster,
        "template",
        "gsv",
        str(CHART),
        "-n",
        namespace,
        "--kube-version",
        "v1.36.3",
        "-f",
        str(CHART / "ci" / f"{scenario}-values.yaml"),
    ).stdout
    documents = [d for d in yaml.safe_load_all(rendered) if d]
    # ServiceMonitor and PrometheusRule need the Prometheus Operator's CRDs, which this cluster
    # does not serve.
    checkable = [d for d in documents if d["kind"] not in ("ServiceMonitor", "PrometheusRule")]
    for doc in checkable:
        if doc["metadata"].get("namespace") not in (None, namespace):
            doc["metadata"]["namespace"] = namespace  # watched namespaces of the scenario do not exist here
    result = cluster.kubectl(
        "apply",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        input=yaml.safe_dump_all(checkable),
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_install_upgrade_uninstall_leaves_nothing_behind(
    cluster: Cluster, namespace: str, release_name: str
) -> None:
    _helm(cluster, "install", release_name, str(CHART), "-n", namespace, "--wait", "--timeout", "120s")
    deployment = _get(
        cluster, "deployment", "-n", namespace, "-l", f"app.kubernetes.io/instance={release_name}"
    )
    (operator,) = deployment["items"]
    assert operator["status"].get("availableReplicas") == 1
    crd = _get(cluster, "crd", "voiceservices.voice.gpt-sovits.io")
    assert crd["spec"]["group"] == "voice.gpt-sovits.io"

    _helm(
        cluster,
        "upgrade",
        release_name,
        str(CHART),
        "-n",
        namespace,
        "--set",
        "operator.logLevel=DEBUG",
        "--wait",
        "--timeout",
        "120s",
    )
    name = operator["metadata"]["name"]
    env = {
        e["name"]: e.get("value")
        for e in _get(cluster, "deployment", name, "-n", namespace)["spec"]["template"]["spec"]["containers"][
            0
        ]["env"]
    }
    assert env["VOICE_OPERATOR_LOG_LEVEL"] == "DEBUG"
    history = _helm(cluster, "history", release_name, "-n", namespace, "-o", "json").stdout
    assert [h["revision"] for h in json.loads(history)] == [1, 2]

    _helm(cluster, "uninstall", release_name, "-n", namespace, "--wait")
    selector = f"app.kubernetes.io/instance={release_name}"

    def gone() -> bool:
        namespaced = cluster.kubectl(
            "get",
            "deployment,service,serviceaccount,configmap,role,rolebinding",
            "-n",
            namespace,
            "-l",
            selector,
            "-o",
            "name",
        ).stdout.strip()
        cluster_wide = cluster.kubectl(
            "get", "clusterrole,clusterrolebinding", "-l", selector, "-o", "name"
        ).stdout
        return not namespaced and not cluster_wide.strip()

    _wait_for(gone, "the release's objects to be deleted")
    # Helm never deletes CRDs (that would delete every VoiceService); they stay on purpose.
    assert _get(cluster, "crd", "voiceservices.voice.gpt-sovits.io")["metadata"]["name"]


def test_crd_upgrade_path_applies_a_changed_crd(cluster: Cluster, chart_crds: None, tmp_path: Path) -> None:
    """`helm upgrade` leaves CRDs alone; the documented server-side apply brings the new schema."""
    crd = yaml.safe_load((CHART / "crds" / "voiceservices.yaml").read_text())
    older = json.loads(json.dumps(crd))
    older["metadata"].setdefault("annotations", {})["gpt-sovits.io/crd-revision"] = "old"
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump(older))
    assert (
        _get(cluster, "crd", crd["metadata"]["name"])["metadata"]["annotations"]["gpt-sovits.io/crd-revision"]
        == "old"
    )

    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", str(CHART / "crds" / "voiceservices.yaml")
    )
    annotations = _get(cluster, "crd", crd["metadata"]["name"])["metadata"].get("annotations", {})
    assert "gpt-sovits.io/crd-revision" not in annotations
