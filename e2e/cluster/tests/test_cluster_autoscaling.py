"""An autoscaling/v2 HPA acts on CPU usage that kwok reports through metrics-server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.cluster.processes import wait_for

pytestmark = pytest.mark.cluster

USAGE_ANNOTATION = "kwok.x-k8s.io/usage-cpu"
# Metric resolution (10 s) plus HPA sync, stabilisation and rollout: generous, never a fixed sleep.
_SCALE_TIMEOUT_S = 180.0


def _get(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def _workload(name: str, usage: str) -> list[dict[str, Any]]:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                # kwok reports this as the pod's CPU usage; metrics-server turns it into metrics.k8s.io.
                "metadata": {"labels": {"app": name}, "annotations": {USAGE_ANNOTATION: usage}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.invalid/app:1",
                            "resources": {"requests": {"cpu": "1", "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }
    return [deployment, hpa]


def _replicas(cluster: Cluster, namespace: str, name: str) -> int:
    return int(_get(cluster, "deployment", name, "-n", namespace)["spec"]["replicas"])


def test_pod_metrics_come_from_kwok_through_metrics_server(cluster: Cluster, namespace: str) -> None:
    deployment, _ = _workload("metered", "300m")
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(deployment))

    def usage_reported() -> bool:
        raw = cluster.kubectl(
            "get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods", check=False
        )
        if raw.returncode != 0:
            return False
        items = json.loads(raw.stdout)["items"]
        return bool(items) and items[0]["containers"][0]["usage"]["cpu"] not in ("", "0")

    wait_for("pod CPU usage in metrics.k8s.io", usage_reported, _SCALE_TIMEOUT_S)
    raw = cluster.kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods")
    usage = json.loads(raw.stdout)["items"][0]["containers"][0]["usage"]["cpu"]
    # Quantities come back in nanocores; 300m is 300,000,000n, allowing for rate rounding.
    nanocores = (
        int(usage.removesuffix("n")) if usage.endswith("n") else int(float(usage.removesuffix("m")) * 1e6)
    )
    assert 250_000_000 <= nanocores <= 350_000_000


def test_hpa_scales_up_on_high_cpu_and_back_down_when_it_drops(cluster: Cluster, namespace: str) -> None:
    name = "busy"
    # 900m of a 1-CPU request is 90 % > 70 %: the HPA must add replicas up to its maximum.
    cluster.kubectl(
        "apply", "-n", namespace, "-f", "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": _workload(name, "900m")}),
    )  # fmt: skip
    wait_for(
        "HPA scaled the Deployment to 3", lambda: _replicas(cluster, namespace, name) == 3, _SCALE_TIMEOUT_S
    )
    hpa = _get(cluster, "hpa", name, "-n", namespace)
    conditions = {c["type"]: c["status"] for c in hpa["status"].get("conditions", [])}
    assert conditions.get("ScalingActive") == "True"
    assert hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] > 70

    # Usage drops to 10 % on every running pod: the HPA must go back to its minimum.
    cluster.kubectl(
        "annotate", "pods", "-n", namespace, "-l", f"app={name}", f"{USAGE_ANNOTATION}=100m", "--overwrite"
    )
    wait_for(
        "HPA scaled the Deployment back to 1",
        lambda: _replicas(cluster, namespace, name) == 1,
        _SCALE_TIMEOUT_S,
    )
