"""The images as real pods: the chart's operator pod reconciles a VoiceService whose server pod
loads a demo model from a volume, turns Ready through its probes and answers through its Service.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.node import NODE_NAME
from e2e.demo_node import node_voice_spec
from e2e.load import post_tts
from e2e.node.node_support import (
    OPERATOR_IMAGE,
    apply_voice,
    decode_wav,
    file_server,
    get_json,
    json_lines,
    model_archive,
    ready_pod,
    service_url,
    wait_for,
    wait_voice_ready,
)
from e2e.scaling import condition

pytestmark = pytest.mark.cluster


def _timestamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _speak_through_service(cluster: Cluster, namespace: str, voice: str) -> float:
    url = service_url(cluster, namespace, voice)
    started = time.monotonic()
    status, body, content_type = post_tts(url, "Hello from a real pod.")
    took = time.monotonic() - started
    assert status == 200, body[:500]
    assert content_type.startswith("audio/wav")
    rate, frames = decode_wav(body)
    assert rate > 0
    assert frames > 0
    print(f"POST /api/v1/tts through {url} (ClusterIP): {len(body)} bytes of WAV in {took:.1f}s")
    return took


def test_operator_runs_as_a_pod_from_its_image_with_the_charts_account(
    cluster: Cluster, operator_pod: dict[str, Any], voice_namespace: str
) -> None:
    spec = operator_pod["spec"]
    assert spec["nodeName"] == NODE_NAME
    assert spec["containers"][0]["image"] == OPERATOR_IMAGE
    assert spec["serviceAccountName"] == "gsv-gpt-sovits"
    status = operator_pod["status"]["containerStatuses"][0]
    assert status["ready"] is True
    assert status["restartCount"] == 0
    # A real container: containerd's id, and its own log (kopf's JSON lines).
    assert status["containerID"].startswith("containerd://")
    # Right after `helm install` the container may not have written its first line yet.
    name = operator_pod["metadata"]["name"]
    wait_for(
        lambda: json_lines(cluster.kubectl("logs", "-n", voice_namespace, name).stdout),
        f"a JSON line in {name}'s log",
        60,
    )


def test_voice_from_a_host_path_answers_through_its_service(
    cluster: Cluster,
    operator_pod: dict[str, Any],
    voice_namespace: str,
    demo_models: Path,
) -> None:
    started = time.monotonic()
    apply_voice(
        cluster, voice_namespace, "hostpath", node_voice_spec({"hostPath": {"path": str(demo_models)}})
    )
    wait_voice_ready(cluster, voice_namespace, "hostpath")
    ready_after = time.monotonic() - started
    pod = ready_pod(cluster, voice_namespace, "hostpath")
    assert pod is not None
    print(f"VoiceService hostpath Ready {ready_after:.1f}s after apply (pod start, model load, warm-up)")

    # The operator's pod spec ran as written: uid 65532, read-only root, no token, on the node.
    spec = pod["spec"]
    assert spec["nodeName"] == NODE_NAME
    assert spec["automountServiceAccountToken"] is False
    container = spec["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsUser"] == 65532
    assert not any(m["mountPath"].startswith("/var/run/secrets") for m in container["volumeMounts"])

    # Ready came through the real probes, after the server said it had loaded and warmed up.
    name = pod["metadata"]["name"]
    lines = json_lines(cluster.kubectl("logs", "-n", voice_namespace, name).stdout)
    ready_line = [line for line in lines if line.get("message") == "ready"]
    assert ready_line, lines[-10:]
    ready_logged = _timestamp(str(ready_line[0].get("time") or ready_line[0].get("timestamp")))
    became_ready = _timestamp(condition(pod, "Ready")["lastTransitionTime"])
    assert became_ready >= int(ready_logged), (became_ready, ready_logged)

    _speak_through_service(cluster, voice_namespace, "hostpath")

    def access_line() -> dict[str, Any] | None:
        logs = json_lines(cluster.kubectl("logs", "-n", voice_namespace, name).stdout)
        hits = [line for line in logs if "/api/v1/tts" in json.dumps(line) and line.get("status") == 200]
        return hits[-1] if hits else None

    assert wait_for(access_line, "the JSON access line of the request in kubectl logs", 30)
    cluster.kubectl("delete", "vsvc", "hostpath", "-n", voice_namespace, "--wait=true", "--timeout=120s")


def test_voice_from_the_http_source_is_fetched_checked_and_served(
    cluster: Cluster,
    real_node: LocalControlPlane,
    operator_pod: dict[str, Any],
    voice_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
    demo_models: Path,
) -> None:
    served = tmp_path_factory.mktemp("served")
    sha256 = model_archive(demo_models, served / "demo-model.tar.gz")
    node_ip = get_json(cluster, "node", NODE_NAME)["status"]["addresses"][0]["address"]
    with file_server(served, node_ip) as base_url:
        source = {"http": {"url": f"{base_url}/demo-model.tar.gz", "sha256": sha256}}
        apply_voice(cluster, voice_namespace, "fetched", node_voice_spec(source))
        wait_voice_ready(cluster, voice_namespace, "fetched")
    pod = ready_pod(cluster, voice_namespace, "fetched")
    assert pod is not None
    init = pod["status"]["initContainerStatuses"][0]
    assert init["name"] == "fetch-model"
    assert init["state"]["terminated"]["exitCode"] == 0
    fetch_log = cluster.kubectl(
        "logs", "-n", voice_namespace, pod["metadata"]["name"], "-c", "fetch-model"
    ).stdout
    assert f"fetched: {base_url}/demo-model.tar.gz" in fetch_log
    _speak_through_service(cluster, voice_namespace, "fetched")
    cluster.kubectl("delete", "vsvc", "fetched", "-n", voice_namespace, "--wait=true", "--timeout=120s")
