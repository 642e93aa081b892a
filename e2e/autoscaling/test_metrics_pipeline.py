"""The metrics pipeline end to end, without a real node: server /metrics -> Prometheus -> adapter -> HPA.

The server is a host process (``python -m voice_server --demo``). Prometheus finds it the way it
finds any pod, through the apiserver: a Deployment's pods use ``hostNetwork`` on a kwok node, so
kwok reports the node's address, 127.0.0.1, as their IP, and their ``prometheus.io/port``
annotation names the demo server's port. The pods are real API objects (the adapter lists them to
answer ``pods/*``, the HPA scales their Deployment); only their process runs beside the cluster
instead of in a container. A pod with the same annotations but one of kwok's made-up pod-range
addresses shows that such addresses are never scraped.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest

from e2e.autoscaling.pipeline_support import DemoServer, Prometheus
from e2e.cluster import Cluster
from e2e.cluster.metrics_pipeline import CUSTOM_METRICS_GROUP, CUSTOM_METRICS_VERSIONS, POD_JOB
from e2e.cluster.processes import wait_for

pytestmark = pytest.mark.cluster

METRIC = "gsv_requests_per_second"
COUNTER = "gsv_synthesis_requests_total"
_WAIT_S = 120.0
_REQUESTS = 6


def _scrape_annotations(port: int) -> dict[str, str]:
    # What the operator puts on its server pods (operator/voice_operator/manifests/deployment.py).
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}


def _container() -> dict[str, Any]:
    return {
        "name": "server",
        "image": "registry.invalid/gpt-sovits-server:demo",
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
    }


def _talker(port: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "talker"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "talker"}},
            "template": {
                "metadata": {"labels": {"app": "talker"}, "annotations": _scrape_annotations(port)},
                "spec": {"hostNetwork": True, "containers": [_container()]},
            },
        },
    }


def _decoy(port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "decoy", "labels": {"app": "decoy"}, "annotations": _scrape_annotations(port)},
        "spec": {"containers": [_container()]},
    }


def _get(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def _running_pods(cluster: Cluster, namespace: str, app: str) -> list[dict[str, Any]]:
    pods = _get(cluster, "pods", "-n", namespace, "-l", f"app={app}")["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and p["status"].get("podIP")]


@pytest.fixture(scope="module")
def talker(cluster: Cluster, module_namespace: str, demo_server: DemoServer) -> str:
    """The name of the talker Deployment's first pod, Running with IP 127.0.0.1; a decoy beside it."""
    items = [_talker(demo_server.port), _decoy(demo_server.port)]
    cluster.kubectl(
        "apply", "-n", module_namespace, "-f", "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
    )  # fmt: skip
    wait_for("talker pod Running", lambda: bool(_running_pods(cluster, module_namespace, "talker")), _WAIT_S)
    wait_for("decoy pod Running", lambda: bool(_running_pods(cluster, module_namespace, "decoy")), _WAIT_S)
    (pod,) = _running_pods(cluster, module_namespace, "talker")
    assert pod["status"]["podIP"] == "127.0.0.1", pod["status"]
    return str(pod["metadata"]["name"])


def _quantity(text: str) -> Decimal:
    """A Kubernetes quantity as the custom metrics API writes values: ``"1500m"``, ``"2"``, ``"3k"``."""
    suffixes = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": Decimal(1000)}
    if text and text[-1] in suffixes:
        return Decimal(text[:-1]) * suffixes[text[-1]]
    return Decimal(text)


def _custom_metric(cluster: Cluster, version: str, namespace: str) -> dict[str, Decimal]:
    """``pods/*/gsv_requests_per_second`` of a namespace: pod name -> value (empty while absent)."""
    path = f"/apis/{CUSTOM_METRICS_GROUP}/{version}/namespaces/{namespace}/pods/*/{METRIC}"
    raw = cluster.kubectl("get", "--raw", path, check=False)
    if raw.returncode != 0:
        return {}
    return {
        item["describedObject"]["name"]: _quantity(item["value"]) for item in json.loads(raw.stdout)["items"]
    }


def _counter(prometheus: Prometheus, namespace: str, pod: str) -> float | None:
    result = prometheus.api("query", query=f'{COUNTER}{{namespace="{namespace}",pod="{pod}"}}')["result"]
    return float(result[0]["value"][1]) if result else None


def test_the_adapter_serves_both_custom_metrics_versions(cluster: Cluster) -> None:
    for version in CUSTOM_METRICS_VERSIONS:
        api_service = _get(cluster, "apiservice", f"{version}.{CUSTOM_METRICS_GROUP}")
        conditions = {c["type"]: c["status"] for c in api_service["status"]["conditions"]}
        assert conditions["Available"] == "True", api_service["status"]
        listing = json.loads(
            cluster.kubectl("get", "--raw", f"/apis/{CUSTOM_METRICS_GROUP}/{version}").stdout
        )
        assert listing["kind"] == "APIResourceList"
        assert listing["groupVersion"] == f"{CUSTOM_METRICS_GROUP}/{version}"


def test_prometheus_scrapes_the_annotated_pod_it_found_through_the_apiserver(
    prometheus: Prometheus, module_namespace: str, talker: str, demo_server: DemoServer
) -> None:
    def talker_target() -> dict[str, Any] | None:
        for target in prometheus.api("targets", state="active")["activeTargets"]:
            labels = target["labels"]
            if labels.get("namespace") == module_namespace and labels.get("pod") == talker:
                return dict(target)
        return None

    wait_for("talker's target up", lambda: (talker_target() or {}).get("health") == "up", _WAIT_S)
    target = talker_target()
    assert target is not None
    assert target["scrapePool"] == POD_JOB
    assert target["scrapeUrl"] == f"{demo_server.url}/metrics"
    assert target["labels"]["app"] == "talker"
    # The series carry the labels the chart's adapter rule maps to namespaces and pods.
    assert _counter(prometheus, module_namespace, talker) is not None

    # The decoy asks for the same scrape, but its address is one of kwok's made-up ones: dropped.
    def decoy_dropped() -> bool:
        dropped = prometheus.api("targets", state="dropped")["droppedTargets"]
        return any(
            t["discoveredLabels"].get("__meta_kubernetes_namespace") == module_namespace
            and t["discoveredLabels"].get("__meta_kubernetes_pod_name") == "decoy"
            for t in dropped
        )

    wait_for("decoy discovered and dropped", decoy_dropped, _WAIT_S)
    active = prometheus.api("targets", state="active")["activeTargets"]
    assert not [t for t in active if t["labels"].get("pod") == "decoy"]


def test_synthesis_requests_become_a_per_pod_custom_metric(
    cluster: Cluster, prometheus: Prometheus, module_namespace: str, talker: str, demo_server: DemoServer
) -> None:
    wait_for(
        "talker's counter in Prometheus",
        lambda: _counter(prometheus, module_namespace, talker) is not None,
        _WAIT_S,
    )
    before = _counter(prometheus, module_namespace, talker)
    assert before is not None
    started = time.monotonic()
    statuses = [demo_server.tts(f"Request number {i}.") for i in range(_REQUESTS)]
    sent = time.monotonic()
    assert statuses == [200] * _REQUESTS

    def served() -> bool:
        return _custom_metric(cluster, "v1beta2", module_namespace).get(talker, Decimal(0)) > 0

    wait_for(f"{METRIC} of {talker} above 0", served, _WAIT_S)
    seen = time.monotonic()
    print(
        f"\n{_REQUESTS} requests in {sent - started:.1f}s; {METRIC} > 0 in custom.metrics.k8s.io "
        f"{seen - started:.1f}s after the first request, {seen - sent:.1f}s after the last answer"
    )
    raw = cluster.kubectl(
        "get", "--raw", f"/apis/{CUSTOM_METRICS_GROUP}/v1beta2/namespaces/{module_namespace}/pods/*/{METRIC}"
    )  # fmt: skip
    (item,) = [i for i in json.loads(raw.stdout)["items"] if i["describedObject"]["name"] == talker]
    assert item["describedObject"]["kind"] == "Pod"
    assert item["describedObject"]["namespace"] == module_namespace
    assert item["metric"]["name"] == METRIC
    # v1beta1 serves the same metric under its older shape.
    assert _custom_metric(cluster, "v1beta1", module_namespace).get(talker, Decimal(0)) > 0
    # Prometheus counted every request, on the series of this pod.
    wait_for(
        "the counter to include every request",
        lambda: _counter(prometheus, module_namespace, talker) == before + _REQUESTS,
        _WAIT_S,
    )


def test_an_hpa_scales_the_deployment_on_the_custom_metric(
    cluster: Cluster, module_namespace: str, talker: str, demo_server: DemoServer
) -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "talker"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "talker"},
            "minReplicas": 1,
            "maxReplicas": 2,
            # The metric type and name the operator's HPA uses; a tiny target so a few requests
            # per minute are more than one pod should take.
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": METRIC},
                        "target": {"type": "AverageValue", "averageValue": "1m"},
                    },
                }
            ],
        },
    }
    cluster.kubectl("apply", "-n", module_namespace, "-f", "-", input=json.dumps(hpa))
    assert [demo_server.tts(f"Scale request {i}.") for i in range(3)] == [200] * 3

    def replicas() -> int:
        return int(_get(cluster, "deployment", "talker", "-n", module_namespace)["spec"]["replicas"])

    wait_for("HPA scaled talker to 2", lambda: replicas() == 2, _WAIT_S)
    status = _get(cluster, "hpa", "talker", "-n", module_namespace)["status"]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions["ScalingActive"] == ("True", "ValidMetricFound"), status
    (current,) = status["currentMetrics"]
    assert current["pods"]["metric"]["name"] == METRIC
    assert _quantity(current["pods"]["current"]["averageValue"]) > 0
