"""The autoscaling the product promises, on real pods: load → Prometheus → adapter → HPA → more pods.

Load goes through the VoiceService's Service (ClusterIP, kube-proxy); Prometheus scrapes the server
pods found through the apiserver; prometheus-adapter serves their requests per second with the
chart's rules; the operator's HPA reads that and real container CPU (the kubelet's resource
metrics, through metrics-server) and scales the operator's Deployment; the new pod loads its
model, turns Ready through its probes and takes a share of the load; after the load stops the
Deployment returns to ``minReplicas`` within the ``behavior`` the VoiceService set.

Each scenario leaves one metric in charge, so the HPA's event says which one decided: the
requests-per-second one with a low per-pod target and cheap (cache-hit) requests, CPU at the
product's default 70 % with new sentences and a target rate no load here reaches.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.cluster.node import NODE_NAME
from e2e.demo_node import autoscaled_voice_spec
from e2e.load import LoadLoop, new_sentence, same_sentence
from e2e.node.node_support import apply_voice, get_json, service_url, wait_voice_ready
from e2e.scaling import RPS_METRIC, ScaleTimeline, ScaleWatch, condition, live_pods, rescale_reasons

pytestmark = pytest.mark.cluster

# A second pod's start (image, model load, warm-up) while the first one serves the load.
SCALE_OUT_TIMEOUT_S = 420
# The adapter's rate window (the test cluster's, metrics_pipeline.ADAPTER_RATE_WINDOW) plus the
# stabilization window and slack.
SCALE_IN_TIMEOUT_S = 240
# How long load keeps running once the new pod takes part, to see how it spreads.
SPREAD_WINDOW_S = 15


def _start_voice(cluster: Cluster, namespace: str, voice: str, spec: dict[str, Any], target_cpu: int) -> None:
    """Apply the voice and wait until it is Ready and the HPA reads its one pod idle."""
    apply_voice(cluster, namespace, voice, spec)
    wait_voice_ready(cluster, namespace, voice)
    ScaleWatch(cluster, namespace, voice, print).wait_idle(target_cpu, SCALE_IN_TIMEOUT_S)


def _source(demo_models: Path) -> dict[str, Any]:
    return {"hostPath": {"path": str(demo_models)}}


def _pod_counter(pod: dict[str, Any], port: int = 8000) -> float:
    """The pod's own gsv_synthesis_requests_total, scraped from its /metrics by its pod IP."""
    with urllib.request.urlopen(f"http://{pod['status']['podIP']}:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = [
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("gsv_synthesis_requests_total")
    ]
    return sum(values)


def _scale_out_and_in(
    cluster: Cluster, namespace: str, voice: str, load: LoadLoop, metric_reason: str
) -> tuple[ScaleTimeline, float]:
    """Run ``load`` until a second pod is Ready and takes its share; stop it; wait for one pod.

    Returns the timeline and the new pod's share of the requests served while both were Ready.
    """
    watch = ScaleWatch(cluster, namespace, voice, print)
    timeline = watch.timeline
    with load:
        watch.until(lambda v: v.desired >= 2, "the HPA to want 2 pods", SCALE_OUT_TIMEOUT_S)
        watch.until(lambda v: len(v.ready_pods) >= 2, "2 Ready pods", SCALE_OUT_TIMEOUT_S)
        pods = live_pods(cluster, namespace, voice)
        before = {p["metadata"]["name"]: _pod_counter(p) for p in pods}
        watch.until(lambda v: timeline.spread is not None, "the new pod's rate in custom.metrics", 120)
        time.sleep(SPREAD_WINDOW_S)
        served = {p["metadata"]["name"]: _pod_counter(p) - before[p["metadata"]["name"]] for p in pods}
        scaled_out = watch.until(lambda v: True, "a view while scaled out", 10)
        status = get_json(cluster, "vsvc", voice, "-n", namespace)["status"]
        table = cluster.kubectl("get", "vsvc", voice, "-n", namespace).stdout
        print(table)
    timeline.stop_load(time.monotonic())
    watch.until(lambda v: timeline.scaled_in is not None, "scale-in to 1 pod", SCALE_IN_TIMEOUT_S)
    print(timeline.summary())

    new = [name for name in served if name not in timeline.first_pods]
    share = served[new[0]] / max(1.0, sum(served.values()))
    print(f"requests served while both pods were Ready: {served} (new pod's share {share:.0%})")
    reasons = rescale_reasons(cluster, namespace, voice)
    assert any(r.startswith("New size: 2;") and metric_reason in r for r in reasons), reasons
    assert any(r.startswith("New size: 1;") for r in reasons), reasons
    # The VoiceService reports the autoscaler while it acts, and `kubectl get vsvc` shows the rate.
    assert status["autoscaling"]["currentReplicas"] == 2, status
    assert condition({"status": status}, "AutoscalingActive").get("status") == "True", status
    assert scaled_out.scaling_active.get("status") == "True", scaled_out.scaling_active
    header, row = table.splitlines()[:2]
    assert "RPS/POD" in header, table
    assert len(row.split()) == len(header.split()), table
    assert not load.failures(), load.failures()[:5]
    return timeline, share


def test_requests_per_second_scale_a_voice_out_to_a_second_pod_and_back(
    cluster: Cluster,
    operator_pod: dict[str, Any],
    voice_namespace: str,
    demo_models: Path,
    custom_metrics: None,
) -> None:
    voice = "busy"
    # CPU stays in the background: half a core of request per pod, at most 100 % of it.
    spec = autoscaled_voice_spec(_source(demo_models), cpu="500m", target_cpu=100, target_rps=1)
    _start_voice(cluster, voice_namespace, voice, spec, target_cpu=100)
    hpa = get_json(cluster, "hpa", voice, "-n", voice_namespace)
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 10
    assert hpa["spec"]["metrics"][1]["pods"]["metric"]["name"] == RPS_METRIC
    url = service_url(cluster, voice_namespace, voice)
    # About 4 cheap requests per second in all against a target of 1 per pod: 2 pods are wanted.
    load = LoadLoop(url, clients=2, text=same_sentence, interval_s=0.5)
    timeline, share = _scale_out_and_in(
        cluster, voice_namespace, voice, load, f"pods metric {RPS_METRIC} above target"
    )
    assert timeline.peak_rps > 2, timeline
    # kube-proxy picks a backend per connection: the new pod takes a fair part, not a token one.
    assert share >= 0.2, share
    cluster.kubectl("delete", "vsvc", voice, "-n", voice_namespace, "--wait=true", "--timeout=120s")


def test_real_container_cpu_at_seventy_percent_scales_a_voice_out_and_back(
    cluster: Cluster,
    operator_pod: dict[str, Any],
    voice_namespace: str,
    demo_models: Path,
    custom_metrics: None,
) -> None:
    voice = "hot"
    spec = autoscaled_voice_spec(_source(demo_models), cpu="100m", target_cpu=70, target_rps=1000)
    _start_voice(cluster, voice_namespace, voice, spec, target_cpu=70)
    [pod] = live_pods(cluster, voice_namespace, voice)
    # The usage is the container's own, measured by the real node's kubelet: no kwok annotation.
    assert pod["spec"]["nodeName"] == NODE_NAME
    assert not any(key.startswith("kwok.x-k8s.io/") for key in pod["metadata"].get("annotations") or {})
    url = service_url(cluster, voice_namespace, voice)
    load = LoadLoop(url, clients=2, text=new_sentence)
    timeline, share = _scale_out_and_in(
        cluster, voice_namespace, voice, load, "cpu resource utilization (percentage of request) above target"
    )
    assert timeline.peak_cpu > 70, timeline
    assert share > 0, share
    cluster.kubectl("delete", "vsvc", voice, "-n", voice_namespace, "--wait=true", "--timeout=120s")
