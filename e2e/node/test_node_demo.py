"""`make demo` on the real node: the operator and server pods from the images, speech through the Service."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from e2e.cluster import Cluster
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.node import NODE_NAME
from e2e.demo import Console, DemoSettings, decode_wav, helm, run_node_demo

pytestmark = pytest.mark.cluster


def test_the_demo_runs_the_images_as_pods_and_speaks_through_the_service(
    cluster: Cluster, real_node: LocalControlPlane, namespace: str, tmp_path: Path
) -> None:
    output = tmp_path / "demo.wav"
    settings = DemoSettings(namespace=namespace, release="demo", output=output, timeout_s=420)
    printed = io.StringIO()

    result = run_node_demo(cluster, real_node, settings, tmp_path, Console(printed), remove=True)

    status = result.voice_service["status"]
    assert status["phase"] == "Ready"
    assert (status["replicas"], status["readyReplicas"]) == (1, 1)
    lines = printed.getvalue().splitlines()
    # The pods table shows them on the real node, and the request went to the Service's ClusterIP.
    pod_rows = [line.split() for line in lines if line.startswith("[cluster] pod/demo-")]
    assert pod_rows
    assert NODE_NAME in pod_rows[-1]
    operator_rows = [line for line in lines if "pod/demo-gpt-sovits-" in line or "demo-gpt-sovits-" in line]
    assert any(NODE_NAME in line for line in operator_rows), operator_rows
    assert any("(the VoiceService's ClusterIP)" in line and "POST http://10.0.0." in line for line in lines)
    wav = decode_wav(output)
    assert wav == result.wav
    assert wav.frames > 0
    # remove=True: the voice and the release are gone.
    assert cluster.kubectl("get", "vsvc", "-n", namespace, "-o", "name").stdout.strip() == ""
    assert json.loads(helm(cluster, "list", "--namespace", namespace, "-o", "json")) == []
