"""Two operator replicas: only the one with the highest priority acts; the other takes over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vsvc_support import Kubectl, start_operator, voiceservice, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

PEERING_NAME = "gpt-sovits-operator"

# kopf's namespaced peering resource (group kopf.dev): replicas write their heartbeats into the
# object's status, so the status is free-form and not a subresource.
KOPF_PEERING_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "kopfpeerings.kopf.dev"},
    "spec": {
        "group": "kopf.dev",
        "scope": "Namespaced",
        "names": {"kind": "KopfPeering", "plural": "kopfpeerings", "singular": "kopfpeering"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                        },
                    }
                },
            }
        ],
    },
}


def test_one_replica_acts_and_the_other_takes_over(
    cluster: Any, namespace: str, kubectl: Kubectl, tmp_path: Path
) -> None:
    cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(KOPF_PEERING_CRD))
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
