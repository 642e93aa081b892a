"""Two operator replicas: only the one with the highest priority acts; the other takes over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from vsvc_support import Kubectl, start_operator, voiceservice, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

PEERING_NAME = "gpt-sovits-operator"

# kopf's peering resources, as the chart installs them: replicas write heartbeats into them.
PEERING_CRDS = Path(__file__).resolve().parents[2] / "charts" / "gpt-sovits" / "crds" / "kopf-peerings.yaml"


def test_one_replica_acts_and_the_other_takes_over(
    cluster: Any, namespace: str, kubectl: Kubectl, tmp_path: Path
) -> None:
    cluster.kubectl("apply", "--server-side", "-f", str(PEERING_CRDS))
    cluster.kubectl("wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev", "--timeout=60s")
    kubectl.apply({"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": PEERING_NAME}})

    low = start_operator(
        cluster, namespace, tmp_path / "low.log", None, "--peering-priority", "10", standalone=False
    )
    high = start_operator(
        cluster, namespace, tmp_path / "high.log", None, "--peering-priority", "20", standalone=False
    )
    try:
        wait_for("the low-priority replica to pause", lambda: "Pausing operations" in low.log())
        kubectl.apply(voiceservice("first"))
        wait_for("the Deployment of the first", lambda: kubectl.get("deployment", "first"))
        wait_for("the active replica's reconcile to finish", lambda: high.reconciles() >= 1)
        assert low.reconciles() == 0  # it never touched the object

        high.stop()  # a graceful exit leaves the peering at once
        wait_for("the other replica to resume", lambda: "Resuming operations" in low.log())
        kubectl.apply(voiceservice("second"))
        wait_for("the Deployment of the second", lambda: kubectl.get("deployment", "second"))
    finally:
        for handle in (high, low):
            handle.stop()
        print(f"--- high ---\n{high.log()[-3000:]}\n--- low ---\n{low.log()[-3000:]}")
