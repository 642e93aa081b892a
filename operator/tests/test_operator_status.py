"""Status computation: phases, the conditions with reasons, transition times, events, the HPA's view."""

from __future__ import annotations

from typing import Any

import pytest

from voice_operator.status import Observed, Problem, autoscaler_status, compute_status, newly_degraded

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:05:00Z"


def deployment(
    *,
    replicas: int = 2,
    ready: int = 2,
    updated: int = 2,
    current: int | None = None,
    generation: int = 1,
    observed: int = 1,
    progressing_reason: str = "NewReplicaSetAvailable",
) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas if current is None else current,
            "readyReplicas": ready,
            "updatedReplicas": updated,
            "conditions": [{"type": "Progressing", "status": "True", "reason": progressing_reason}],
        },
    }


def observe(dep: dict[str, Any] | None, desired: int | None = 2, problems: list[Problem] | None = None):
    return Observed(
        generation=4,
        deployment=dep,
        desired_replicas=desired,
        endpoint="http://x.ns.svc:8000",
        selector="a=b",
        problems=problems or [],
    )


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {cond["type"]: (cond["status"], cond["reason"]) for cond in status["conditions"]}


def test_ready_service() -> None:
    status = compute_status(observe(deployment()), None, T0)
    assert status["phase"] == "Ready"
    assert status["observedGeneration"] == 4
    assert (status["replicas"], status["readyReplicas"]) == (2, 2)
    assert status["endpoint"] == "http://x.ns.svc:8000"
    assert status["selector"] == "a=b"
    assert conditions(status) == {
        "Ready": ("True", "ReplicasReady"),
        "Progressing": ("False", "RolloutComplete"),
        "Degraded": ("False", "AsExpected"),
    }
    assert all(cond["observedGeneration"] == 4 for cond in status["conditions"])
    assert all(cond["lastTransitionTime"] == T0 for cond in status["conditions"])


def test_no_deployment_yet() -> None:
    status = compute_status(observe(None), None, T0)
    assert status["phase"] == "Pending"
    assert (status["replicas"], status["readyReplicas"]) == (0, 0)
    assert conditions(status)["Ready"] == ("False", "DeploymentMissing")
    assert conditions(status)["Progressing"] == ("True", "Creating")


def test_rolling_out_with_no_pod_ready() -> None:
    status = compute_status(observe(deployment(ready=0, updated=1)), None, T0)
    assert status["phase"] == "Progressing"
    assert conditions(status)["Ready"] == ("False", "NoReplicasReady")
    assert conditions(status)["Progressing"] == ("True", "RollingOut")


def test_partially_ready_still_serves() -> None:
    status = compute_status(observe(deployment(ready=1)), None, T0)
    assert conditions(status)["Ready"] == ("True", "PartiallyReady")
    assert status["phase"] == "Progressing"


def test_deployment_not_yet_observed_counts_as_rolling() -> None:
    status = compute_status(observe(deployment(generation=3, observed=2)), None, T0)
    assert conditions(status)["Progressing"][0] == "True"


def test_surplus_old_pods_count_as_rolling() -> None:
    status = compute_status(observe(deployment(current=3)), None, T0)
    assert conditions(status)["Progressing"] == ("True", "RollingOut")


def test_scaled_to_zero() -> None:
    status = compute_status(observe(deployment(replicas=0, ready=0, updated=0), desired=0), None, T0)
    assert conditions(status)["Ready"] == ("False", "ScaledToZero")


def test_autoscaled_uses_the_deployment_replicas() -> None:
    status = compute_status(observe(deployment(replicas=3, ready=3, updated=3), desired=None), None, T0)
    assert status["phase"] == "Ready"


def test_progress_deadline_exceeded_is_degraded() -> None:
    dep = deployment(ready=0, updated=2, progressing_reason="ProgressDeadlineExceeded")
    status = compute_status(observe(dep), None, T0)
    assert status["phase"] == "Degraded"
    assert conditions(status)["Degraded"] == ("True", "ProgressDeadlineExceeded")
    assert conditions(status)["Progressing"] == ("False", "ProgressDeadlineExceeded")


def test_problems_make_it_degraded_with_all_messages() -> None:
    problems = [
        Problem("PersistentVolumeClaimMissing", "claim 'm' missing"),
        Problem("SecretMissing", "secret 'k'"),
    ]
    status = compute_status(observe(deployment(ready=0), problems=problems), None, T0)
    assert status["phase"] == "Degraded"
    degraded = next(cond for cond in status["conditions"] if cond["type"] == "Degraded")
    assert degraded["reason"] == "PersistentVolumeClaimMissing"
    assert degraded["message"] == "claim 'm' missing; secret 'k'"


def test_transition_time_kept_while_status_is_unchanged() -> None:
    first = compute_status(observe(deployment(ready=0)), None, T0)
    second = compute_status(observe(deployment(ready=2)), first, T1)
    times = {cond["type"]: cond["lastTransitionTime"] for cond in second["conditions"]}
    assert times == {"Ready": T1, "Progressing": T1, "Degraded": T0}


@pytest.mark.parametrize(
    ("before", "after", "announced"),
    [
        (None, [Problem("SecretMissing", "x")], True),
        ([Problem("SecretMissing", "x")], [Problem("SecretMissing", "x")], False),
        ([Problem("SecretMissing", "x")], [Problem("InvalidSpec", "y")], True),
        ([Problem("SecretMissing", "x")], [], False),
        (None, [], False),
    ],
)
def test_events_only_for_new_problems(
    before: list[Problem] | None, after: list[Problem], announced: bool
) -> None:
    previous = (
        compute_status(observe(deployment(), problems=before), None, T0) if before is not None else None
    )
    current = compute_status(observe(deployment(), problems=after), previous, T1)
    event = newly_degraded(current, previous)
    assert (event is not None) is announced
    if event is not None:
        assert event["reason"] == after[0].reason


def hpa(
    *,
    current: int = 3,
    desired: int = 5,
    metrics: list[dict[str, Any]] | None = None,
    conditions: dict[str, tuple[str, str, str]] | None = None,
) -> dict[str, Any]:
    """An HPA as the API server returns it; ``conditions``: type → (status, reason, message)."""
    return {
        "metadata": {"name": "x"},
        "status": {
            "currentReplicas": current,
            "desiredReplicas": desired,
            "lastScaleTime": T0,
            "currentMetrics": metrics or [],
            "conditions": [
                {"type": kind, "status": status, "reason": reason, "message": message}
                for kind, (status, reason, message) in (conditions or {}).items()
            ],
        },
    }


CPU_41 = {
    "type": "Resource",
    "resource": {"name": "cpu", "current": {"averageUtilization": 41, "averageValue": "41m"}},
}
RPS_HALF = {
    "type": "Pods",
    "pods": {"metric": {"name": "gsv_requests_per_second"}, "current": {"averageValue": "500m"}},
}
SCALING = {
    "AbleToScale": ("True", "ReadyForNewScale", "recommended size matches current size"),
    "ScalingActive": ("True", "ValidMetricFound", "the HPA was able to compute a replica count"),
}
NO_METRICS = {
    "AbleToScale": (
        "True",
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
    ),
    "ScalingActive": (
        "False",
        "FailedGetResourceMetric",
        "the HPA was unable to compute the replica count: no metrics",
    ),
}


def observe_autoscaled(found: dict[str, Any] | None) -> Observed:
    return Observed(
        generation=4,
        deployment=deployment(),
        desired_replicas=None,
        endpoint="http://x.ns.svc:8000",
        selector="a=b",
        autoscaling=True,
        hpa=found,
    )


def test_autoscaler_status_reads_replicas_and_current_metrics() -> None:
    assert autoscaler_status(hpa(metrics=[CPU_41, RPS_HALF])) == {
        "currentReplicas": 3,
        "desiredReplicas": 5,
        "lastScaleTime": T0,
        "cpuUtilization": 41,
        "requestsPerSecond": 0.5,
    }


@pytest.mark.parametrize(
    ("quantity", "value"), [("12", 12.0), ("1500m", 1.5), ("333m", 0.333), ("2k", 2000.0)]
)
def test_requests_per_second_from_a_quantity(quantity: str, value: float) -> None:
    pods = {"type": "Pods", "pods": {"metric": {"name": "m"}, "current": {"averageValue": quantity}}}
    assert autoscaler_status(hpa(metrics=[pods]))["requestsPerSecond"] == value


def test_metrics_the_hpa_cannot_read_are_none() -> None:
    # A metric that failed is left out of currentMetrics, or kept without a type or value.
    found = autoscaler_status(
        hpa(metrics=[{"type": ""}, {"type": "Resource", "resource": {"name": "cpu", "current": {}}}])
    )
    assert (found["cpuUtilization"], found["requestsPerSecond"]) == (None, None)
    assert autoscaler_status(None) == dict.fromkeys(
        ("currentReplicas", "desiredReplicas", "lastScaleTime", "cpuUtilization", "requestsPerSecond")
    )


def test_autoscaling_active_when_the_hpa_computes_a_count() -> None:
    status = compute_status(observe_autoscaled(hpa(metrics=[CPU_41, RPS_HALF], conditions=SCALING)), None, T0)
    assert status["phase"] == "Ready"
    assert conditions(status)["AutoscalingActive"] == ("True", "ValidMetricFound")
    assert status["autoscaling"]["requestsPerSecond"] == 0.5


def test_autoscaling_inactive_names_the_hpas_reason() -> None:
    status = compute_status(observe_autoscaled(hpa(conditions=NO_METRICS)), None, T0)
    (active,) = [cond for cond in status["conditions"] if cond["type"] == "AutoscalingActive"]
    assert (active["status"], active["reason"]) == ("False", "FailedGetResourceMetric")
    assert active["message"] == NO_METRICS["ScalingActive"][2]
    # The service itself still serves: not Degraded.
    assert status["phase"] == "Ready"
    assert conditions(status)["Degraded"] == ("False", "AsExpected")


def test_an_hpa_that_cannot_scale_wins_over_its_metrics() -> None:
    cannot = {**SCALING, "AbleToScale": ("False", "FailedGetScale", 'deployments.apps "x" not found')}
    status = compute_status(observe_autoscaled(hpa(conditions=cannot)), None, T0)
    assert conditions(status)["AutoscalingActive"] == ("False", "FailedGetScale")


@pytest.mark.parametrize(
    ("found", "reason"),
    [(None, "HorizontalPodAutoscalerMissing"), (hpa(), "HorizontalPodAutoscalerPending")],
)
def test_autoscaling_inactive_before_the_hpa_reports(found: dict[str, Any] | None, reason: str) -> None:
    status = compute_status(observe_autoscaled(found), None, T0)
    assert conditions(status)["AutoscalingActive"] == ("False", reason)


def test_autoscaling_active_keeps_its_transition_time() -> None:
    first = compute_status(observe_autoscaled(hpa(conditions=NO_METRICS)), None, T0)
    again = compute_status(observe_autoscaled(hpa(conditions=NO_METRICS)), first, T1)
    later = compute_status(observe_autoscaled(hpa(conditions=SCALING)), again, T1)
    times = {cond["type"]: cond["lastTransitionTime"] for cond in again["conditions"]}
    assert times["AutoscalingActive"] == T0
    assert [c["lastTransitionTime"] for c in later["conditions"] if c["type"] == "AutoscalingActive"] == [T1]


def test_no_autoscaling_status_while_autoscaling_is_off() -> None:
    status = compute_status(observe(deployment()), None, T0)
    assert "autoscaling" not in status
    assert "AutoscalingActive" not in conditions(status)
    # Turned off: the merge patch of the status removes what autoscaling left there.
    previous = compute_status(observe_autoscaled(hpa(conditions=SCALING)), None, T0)
    assert compute_status(observe(deployment()), previous, T1)["autoscaling"] is None
