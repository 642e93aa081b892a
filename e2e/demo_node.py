"""``make demo`` on the local cluster's real node: the images run as pods, speech comes through the Service.

The chart is installed with its operator pod (image ``gpt-sovits-k8s/operator``), the demo
VoiceService's server pod runs the server image on the real node with the demo model from a
``hostPath`` folder, turns Ready through its probes, and the request that writes ``demo.wav`` is
sent to the VoiceService's ClusterIP (kube-proxy routes it to the pod). Used by :mod:`e2e.demo`
where the host can run a real node and both images are built; the simulated half is the fallback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2e.cluster import Cluster
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.node_config import ON_REAL_NODE
from e2e.cluster.node_images import OPERATOR_IMAGE, SERVER_IMAGE
from e2e.load import LoadLoop, same_sentence
from e2e.scaling import ScaleWatch
from gpt_sovits.demo import (
    DEMO_MAX_TOKENS_PER_SENTENCE,
    DEMO_PROMPT_LANGUAGE,
    DEMO_PROMPT_TEXT,
    ensure_demo_bundle,
)

VOICE_NAME = "demo"
# Autoscaling set through the VoiceService as a user would: at most 2 pods, scale out at once,
# scale in 10 s after the HPA wishes to, one pod at a time.
AUTOSCALING_BEHAVIOR = {
    "scaleDown": {
        "stabilizationWindowSeconds": 10,
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 5}],
    },
    "scaleUp": {"stabilizationWindowSeconds": 0},
}
# The CRD's default CPU target.
_CPU_TARGET = 70
# Requests from each of the load's clients, at most this often (about 4 per second in all).
_LOAD_INTERVAL_S = 0.5
_LOAD_CLIENTS = 2
# Load keeps running this long once the new pod takes part, so both pods' rates show.
_SPREAD_HOLD_S = 20.0


def node_voice_spec(source: dict[str, Any], *, replicas: int = 1) -> dict[str, Any]:
    """A CPU VoiceService on the real node serving the demo bundle from ``source``."""
    return {
        "replicas": replicas,
        "image": SERVER_IMAGE,
        "imagePullPolicy": "Never",
        "model": {
            "version": "v2",
            "gptWeights": "demo-gpt.ckpt",
            "sovitsWeights": "demo-sovits.pth",
            "hubertDir": "demo-hubert",
            "source": source,
        },
        "speakers": [
            {
                "id": "demo",
                "refAudio": "demo-reference.wav",
                "promptText": DEMO_PROMPT_TEXT,
                "promptLanguage": DEMO_PROMPT_LANGUAGE,
            }
        ],
        "resources": {"gpu": 0, "requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "3Gi"}},
        # Random weights seldom emit EOS: the cap keeps each sentence short (the continuous
        # scheduler's guard would end an uncapped one as collapsed).
        "inference": {
            "precision": "fp32",
            "maxBatchSize": 4,
            "maxTokensPerSentence": DEMO_MAX_TOKENS_PER_SENTENCE,
        },
        "service": {"port": 8000},
        **ON_REAL_NODE,
    }


def demo_model_folder(folder: Path) -> Path:
    """The demo model bundle (random weights) in ``folder``, readable by the server's uid 65532."""
    bundle = ensure_demo_bundle(folder)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return bundle.folder


def operator_pod_values(namespace: str, resync_interval_s: float) -> dict[str, Any]:
    """The chart's ``operator`` values: its pod on the real node, the image loaded there, not pulled."""
    return {
        "image": {"pullPolicy": "Never"},
        "watchNamespaces": [namespace],
        "defaultServerImage": SERVER_IMAGE,
        "resyncIntervalSeconds": max(1, round(resync_interval_s)),
        **ON_REAL_NODE,
    }


def service_url(cluster: Cluster, namespace: str, name: str) -> str:
    """``http://<ClusterIP>:<port>`` of a VoiceService's Service, reached through kube-proxy."""
    service = json.loads(cluster.kubectl("get", "service", name, "-n", namespace, "-o", "json").stdout)
    return f"http://{service['spec']['clusterIP']}:{service['spec']['ports'][0]['port']}"


def load_images(plane: LocalControlPlane, say: Callable[[str], None]) -> None:
    """Both images into the node's containerd (skipped when already there)."""
    started = time.monotonic()
    plane.load_images([OPERATOR_IMAGE, SERVER_IMAGE])
    say(f"{OPERATOR_IMAGE} and {SERVER_IMAGE} in the node's containerd ({time.monotonic() - started:.0f}s)")


def autoscaled_voice_spec(
    source: dict[str, Any], *, cpu: str, target_cpu: int = _CPU_TARGET, target_rps: float = 1
) -> dict[str, Any]:
    """:func:`node_voice_spec` with autoscaling on (1 to 2 pods) and a CPU request of ``cpu``."""
    spec = node_voice_spec(source)
    spec["resources"]["requests"]["cpu"] = cpu
    spec["autoscaling"] = {
        "enabled": True,
        "minReplicas": 1,
        "maxReplicas": 2,
        "targetCPUUtilization": target_cpu,
        "targetRequestsPerSecond": target_rps,
        "behavior": AUTOSCALING_BEHAVIOR,
    }
    return spec


def voice_manifest(namespace: str, models: Path, *, autoscaling: bool = False) -> dict[str, Any]:
    """The demo VoiceService for the real node, its model read from ``models`` on the node.

    With ``autoscaling`` a per-pod target of 1 request per second, which this 2-core machine exceeds
    with cheap (cache-hit) requests, and half a core of CPU request, far above what they use.
    """
    source = {"hostPath": {"path": str(models)}}
    spec = autoscaled_voice_spec(source, cpu="500m") if autoscaling else node_voice_spec(source)
    return {
        "apiVersion": "voice.gpt-sovits.io/v1alpha1",
        "kind": "VoiceService",
        "metadata": {"name": VOICE_NAME, "namespace": namespace},
        "spec": spec,
    }


def watch_autoscaling(cluster: Cluster, namespace: str, say: Callable[[str], None], timeout_s: float) -> str:
    """Drive load through the Service and tell what the autoscaler does until it scales back in.

    Every few seconds one line: each pod's requests per second as ``custom.metrics.k8s.io`` serves
    them, the HPA's desired replicas (and CPU), the pods Ready. Returns the one-line summary.
    """
    watch = ScaleWatch(cluster, namespace, VOICE_NAME, say, poll_s=3.0)
    say("waiting for the HPA to read one idle pod (its start's CPU must have passed)")
    watch.wait_idle(_CPU_TARGET, timeout_s)
    url = service_url(cluster, namespace, VOICE_NAME)
    say(f"load: {_LOAD_CLIENTS} clients through {url}, a request each every {_LOAD_INTERVAL_S}s (cache hits)")
    watch.restart()
    timeline = watch.timeline
    with LoadLoop(url, clients=_LOAD_CLIENTS, text=same_sentence, interval_s=_LOAD_INTERVAL_S) as load:
        watch.until(lambda v: len(v.ready_pods) >= 2, "a second Ready pod", timeout_s)
        watch.until(lambda v: timeline.spread is not None, "the new pod's share of the load", timeout_s)
        hold_until = time.monotonic() + _SPREAD_HOLD_S
        watch.until(lambda v: time.monotonic() >= hold_until, "both pods serving", _SPREAD_HOLD_S + 30)
    timeline.stop_load(time.monotonic())
    failed = len(load.failures())
    say(f"load stopped: {len(load.outcomes)} requests, {failed} failed; waiting for the scale-in")
    watch.until(lambda v: timeline.scaled_in is not None, "the scale-in to one pod", timeout_s)
    return timeline.summary()
