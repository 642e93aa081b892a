"""The command line brings a second cluster up, reports it, reuses it and stops every process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.cluster import Cluster
from e2e.cluster.processes import pid_alive

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "e2e.cluster", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


def test_up_status_reuse_down_leaves_no_process(cluster: Cluster, tmp_path: Path) -> None:
    # `cluster` guarantees the binaries are built; this test runs a second, independent cluster.
    flags = ("--state-dir", str(tmp_path / "state"), "--name", "lifecycle", "--no-metrics")
    pids: list[int] = []
    try:
        up = _cli("up", *flags)
        assert up.returncode == 0, up.stderr
        kubeconfig = tmp_path / "state" / "kubeconfig"
        assert f"export KUBECONFIG={kubeconfig}" in up.stdout

        status = _cli("status", *flags)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["api_ready"] is True
        components = report["components"]
        assert set(components) == {
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
        }
        assert all(c["running"] for c in components.values())
        pids = [c["pid"] for c in components.values()]

        nodes = subprocess.run(
            [str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "name"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert len(nodes.stdout.split()) == 3

        again = _cli("up", *flags)
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stderr
        assert [c["pid"] for c in json.loads(_cli("status", *flags).stdout)["components"].values()] == pids
    finally:
        down = _cli("down", *flags)
    assert down.returncode == 0, down.stderr
    assert pids
    assert not [pid for pid in pids if pid_alive(pid)]
    after = _cli("status", *flags)
    assert after.returncode == 1
    assert json.loads(after.stdout)["components"] == {}
