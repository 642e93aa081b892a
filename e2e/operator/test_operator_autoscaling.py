"""Autoscaling on a real API server, whose controller-manager runs the HPA controller.

No custom-metrics adapter runs here, so the HPAs cannot read their requests-per-second metric:
they neither scale up nor down, which leaves the operator's part of the hand-over to be seen.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from vsvc_support import Kubectl, OperatorProcess, voiceservice, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

OPERATOR_MANAGER = "gpt-sovits-operator"
HANDOVER_MANAGER = "gpt-sovits-operator-replicas-handover"


def spec_replicas(kubectl: Kubectl, name: str) -> int | None:
    deployment = kubectl.get("deployment", name) or {}
    return (deployment.get("spec") or {}).get("replicas")


def replicas_managers(kubectl: Kubectl, name: str) -> set[str]:
    """The field managers that own the Deployment's spec.replicas."""
    shown = json.loads(kubectl.run("get", "deployment", name, "-o", "json", "--show-managed-fields").stdout)
    return {
        entry["manager"]
        for entry in shown["metadata"].get("managedFields") or []
        if "f:replicas" in (entry.get("fieldsV1") or {}).get("f:spec", {})
    }


def hpa_condition(kubectl: Kubectl, name: str, kind: str) -> dict[str, Any] | None:
    hpa = kubectl.get("hpa", name) or {}
    for condition in (hpa.get("status") or {}).get("conditions") or []:
        if condition["type"] == kind:
            return dict(condition)
    return None


def test_enabling_autoscaling_keeps_the_replica_count(kubectl: Kubectl, operator: OperatorProcess) -> None:
    kubectl.apply(voiceservice("handover", replicas=4))
    wait_for("4 replicas", lambda: spec_replicas(kubectl, "handover") == 4)
    assert replicas_managers(kubectl, "handover") == {OPERATOR_MANAGER}
    generation = kubectl.get("deployment", "handover")["metadata"]["generation"]  # type: ignore[index]

    autoscaling = {"enabled": True, "minReplicas": 1, "maxReplicas": 8}
    kubectl.patch("voiceservice", "handover", {"spec": {"autoscaling": autoscaling}})
    # The reconcile that creates the HPA has applied the Deployment without replicas before it.
    wait_for("the HPA", lambda: kubectl.get("hpa", "handover"))

    # Several resyncs, and the HPA's verdict (it cannot read its metrics, so it keeps the count).
    seen = operator.reconciles()
    observed: list[int | None] = []

    def resynced_and_decided() -> bool:
        observed.append(spec_replicas(kubectl, "handover"))
        decided = hpa_condition(kubectl, "handover", "ScalingActive") is not None
        return decided and operator.reconciles() >= seen + 4

    wait_for("four more reconciles and the HPA's verdict", resynced_and_decided)
    assert set(observed) == {4}
    # Any change of spec.replicas in between, even one put back at once, would have bumped this.
    assert kubectl.get("deployment", "handover")["metadata"]["generation"] == generation  # type: ignore[index]
    assert (kubectl.get("hpa", "handover") or {})["status"]["currentReplicas"] == 4
    # The operator no longer applies replicas; the hand-over manager holds the count for the HPA.
    assert replicas_managers(kubectl, "handover") == {HANDOVER_MANAGER}

    # Autoscaling off again: the operator takes the field back and sets spec.replicas.
    kubectl.patch("voiceservice", "handover", {"spec": {"autoscaling": {"enabled": False}}})
    wait_for("the HPA to go", lambda: kubectl.get("hpa", "handover") is None)
    wait_for(
        "the operator to own replicas", lambda: OPERATOR_MANAGER in replicas_managers(kubectl, "handover")
    )
    assert spec_replicas(kubectl, "handover") == 4


def test_status_shows_the_autoscalers_state(kubectl: Kubectl, operator: OperatorProcess) -> None:
    # Two pods above minReplicas 1: without its requests-per-second metric the HPA may not scale
    # down, and its CPU metric alone, if it has one, would ask for fewer pods.
    kubectl.apply(voiceservice("watched", replicas=2))
    wait_for("2 replicas", lambda: spec_replicas(kubectl, "watched") == 2)
    autoscaling = {"enabled": True, "minReplicas": 1, "maxReplicas": 3}
    kubectl.patch("voiceservice", "watched", {"spec": {"autoscaling": autoscaling}})

    def inactive() -> dict[str, Any] | None:
        hpa = hpa_condition(kubectl, "watched", "ScalingActive")
        ours = kubectl.condition("watched", "AutoscalingActive")
        if hpa is None or ours is None or hpa["status"] != "False":
            return None
        same = (ours["status"], ours["reason"], ours["message"]) == ("False", hpa["reason"], hpa["message"])
        return ours if same else None

    condition = wait_for("AutoscalingActive=False with the HPA's reason", inactive)
    assert condition["reason"] in ("FailedGetResourceMetric", "FailedGetPodsMetric")
    status = kubectl.get("voiceservice", "watched")["status"]  # type: ignore[index]
    assert status["phase"] == "Ready"  # the pods serve: autoscaling that cannot act is no problem
    assert status["autoscaling"]["currentReplicas"] == 2
    # No adapter serves the custom metric here: the operator shows no requests per second.
    assert "requestsPerSecond" not in status["autoscaling"]
    header, row = kubectl.run("get", "vsvc", "watched").stdout.splitlines()[:2]
    assert header.split()[4:] == ["ENDPOINT", "RPS/POD", "AGE"]
    assert len(row.split()) == len(header.split()) - 1  # the RPS/POD cell is empty

    # Autoscaling off: the condition and the HPA's figures leave the status.
    kubectl.patch("voiceservice", "watched", {"spec": {"autoscaling": {"enabled": False}}})

    def cleared() -> bool:
        status = (kubectl.get("voiceservice", "watched") or {}).get("status") or {}
        kinds = {cond["type"] for cond in status.get("conditions") or []}
        return "autoscaling" not in status and kinds == {"Ready", "Progressing", "Degraded"}

    wait_for("the autoscaling status to go", cleared)
