"""The command line starts the metrics pipeline with a second cluster, reports it, reuses it, stops it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.cluster.metrics_pipeline import ALERT_RULES
from e2e.cluster.processes import pid_alive

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = {"prometheus", "prometheus-adapter"}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "e2e.cluster", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


def _status(flags: tuple[str, ...]) -> dict[str, Any]:
    return dict(json.loads(_cli("status", *flags).stdout))


def test_up_with_the_pipeline_reuse_restart_without_it_and_down(cluster: Cluster, tmp_path: Path) -> None:
    # `cluster` guarantees the binaries are built; this test runs a second, independent cluster.
    state = tmp_path / "state"
    flags = ("--state-dir", str(state), "--name", "pipeline-cli", "--no-metrics")
    pids: list[int] = []
    try:
        up = _cli("up", *flags, "--metrics-pipeline")
        assert up.returncode == 0, up.stderr
        report = _status(flags)
        assert report["metrics_pipeline"] is True
        components = report["components"]
        assert set(components) >= PIPELINE
        assert all(c["running"] for c in components.values())
        pids = [c["pid"] for c in components.values()]
        for name in PIPELINE:
            assert components[name]["log"] == str(state / "logs" / f"{name}.log")
            assert Path(components[name]["log"]).is_file()
        assert (state / "prometheus" / "prometheus.yml").is_file()
        assert (state / "prometheus" / ALERT_RULES.name).read_text() == ALERT_RULES.read_text()
        assert "gsv_requests_per_second" in (state / "prometheus-adapter" / "rules.yaml").read_text()

        again = _cli("up", *flags, "--metrics-pipeline")
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stderr
        assert [c["pid"] for c in _status(flags)["components"].values()] == pids

        # Without the pipeline the running cluster does not match: it is restarted without it. (The
        # flag is explicit: GSV_E2E_METRICS_PIPELINE=1, which collects these tests, is inherited.)
        plain = _cli("up", *flags, "--no-metrics-pipeline")
        assert plain.returncode == 0, plain.stderr
        assert "already running" not in plain.stderr
        assert not [pid for pid in pids if pid_alive(pid)]
        report = _status(flags)
        assert report["metrics_pipeline"] is False
        assert not set(report["components"]) & PIPELINE
        pids = [c["pid"] for c in report["components"].values()]
    finally:
        down = _cli("down", *flags)
    assert down.returncode == 0, down.stderr
    assert pids
    assert not [pid for pid in pids if pid_alive(pid)]
