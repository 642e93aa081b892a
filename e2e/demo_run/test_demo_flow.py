"""`make demo`'s flow on the session's control plane: chart, operator, a Ready voice, a decodable WAV."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from e2e.cluster import Cluster
from e2e.demo import Console, DemoSettings, decode_wav, helm, run_demo

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_demo_flow_makes_the_voice_ready_and_writes_a_wav(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    output = tmp_path / "demo.wav"
    settings = DemoSettings(namespace=namespace, release="demo", output=output, timeout_s=180)
    printed = io.StringIO()

    result = run_demo(cluster, settings, tmp_path, Console(printed), remove=True)

    status = result.voice_service["status"]
    assert status["phase"] == "Ready"
    assert (status["replicas"], status["readyReplicas"]) == (2, 2)
    assert status["endpoint"] == f"http://demo.{namespace}.svc:8000"
    # The table was printed as it changed, ending with the Ready row.
    rows = [line.split() for line in printed.getvalue().splitlines() if line.startswith("[cluster] demo ")]
    assert rows
    assert rows[-1][2:5] == ["True", "Ready", "2"]

    assert output.read_bytes()[:4] == b"RIFF"
    wav = decode_wav(output)
    assert wav == result.wav
    assert wav.sample_rate > 0
    assert wav.frames > 0
    assert 0.0 < wav.peak <= 1.0

    # remove=True: the voice and the release are gone, the local processes stopped.
    assert cluster.kubectl("get", "vsvc", "-n", namespace, "-o", "name").stdout.strip() == ""
    releases = json.loads(helm(cluster, "list", "--namespace", namespace, "-o", "json"))
    assert releases == []
