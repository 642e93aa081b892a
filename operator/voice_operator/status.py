"""Pure status computation: the child Deployment's and HPA's state and known problems → the CR's status.

``kubectl get voiceservices`` reads this; nothing here talks to the API server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes.utils import parse_quantity

from voice_operator import constants as c


@dataclass(frozen=True)
class Problem:
    """Something that keeps the service from working that the schema cannot catch."""

    reason: str
    message: str


@dataclass(frozen=True)
class Observed:
    """What the operator knows for one reconcile."""

    generation: int
    deployment: Mapping[str, Any] | None
    desired_replicas: int | None
    endpoint: str
    selector: str
    problems: Sequence[Problem] = ()
    # Whether the spec asks for autoscaling, and its HPA as last read (None: not there).
    autoscaling: bool = False
    hpa: Mapping[str, Any] | None = None


def _condition(kind: str, status: bool, reason: str, message: str, generation: int) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
    }


def _child_condition(child: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for condition in (child.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


@dataclass(frozen=True)
class _Rollout:
    replicas: int
    ready: int
    updated: int
    wanted: int
    settled: bool
    deadline_exceeded: bool


def _rollout(deployment: Mapping[str, Any], desired: int | None) -> _Rollout:
    status = deployment.get("status") or {}
    spec = deployment.get("spec") or {}
    meta = deployment.get("metadata") or {}
    wanted = int(spec.get("replicas", 1) if desired is None else desired)
    progressing = _child_condition(deployment, "Progressing")
    return _Rollout(
        replicas=int(status.get("replicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        updated=int(status.get("updatedReplicas") or 0),
        wanted=wanted,
        settled=int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0),
        deadline_exceeded=progressing.get("reason") == "ProgressDeadlineExceeded",
    )


# (status, reason, message) of one condition.
_Verdict = tuple[bool, str, str]


def _ready(rollout: _Rollout | None) -> _Verdict:
    """Ready: some pods serve (all of them, or part while a rollout goes on)."""
    if rollout is None:
        return False, "DeploymentMissing", "the Deployment does not exist yet"
    if rollout.wanted == 0:
        return False, "ScaledToZero", "no replicas are wanted"
    counts = f"{rollout.ready} of {rollout.wanted} replicas ready"
    if rollout.ready >= rollout.wanted and rollout.updated >= rollout.wanted and rollout.settled:
        return True, "ReplicasReady", counts
    if rollout.ready > 0:
        return True, "PartiallyReady", counts
    return False, "NoReplicasReady", counts


def _progressing(rollout: _Rollout | None) -> _Verdict:
    """Progressing: the Deployment is being created or rolled out."""
    if rollout is None:
        return True, "Creating", "creating the Deployment"
    if rollout.deadline_exceeded:
        return False, "ProgressDeadlineExceeded", "the rollout stopped making progress"
    done = (
        rollout.settled
        and rollout.updated >= rollout.wanted
        and rollout.ready >= rollout.wanted
        and rollout.replicas <= rollout.wanted
    )
    if done:
        return False, "RolloutComplete", "no rollout in progress"
    return True, "RollingOut", f"{rollout.updated} updated, {rollout.ready} ready of {rollout.wanted} wanted"


def _autoscaling_active(hpa: Mapping[str, Any] | None) -> _Verdict:
    """AutoscalingActive: the HPA can scale the Deployment and computes a count from its metrics.

    False carries the HPA's own reason and message, e.g. FailedGetResourceMetric.
    """
    if hpa is None:
        return False, "HorizontalPodAutoscalerMissing", "the HorizontalPodAutoscaler does not exist yet"
    able = _child_condition(hpa, "AbleToScale")
    if able.get("status") == "False":
        return False, str(able.get("reason") or "NotAbleToScale"), str(able.get("message") or "")
    active = _child_condition(hpa, "ScalingActive")
    if not active:
        return False, "HorizontalPodAutoscalerPending", "the HorizontalPodAutoscaler has not reported yet"
    reason = str(active.get("reason") or "ScalingActive")
    return active.get("status") == "True", reason, str(active.get("message") or "")


def autoscaler_status(hpa: Mapping[str, Any] | None) -> dict[str, Any]:
    """``status.autoscaling``: the HPA's replica counts, last scale time and current metric values.

    CPU is the pods' average utilisation in percent of their request, requests per second the
    per-pod average of the HPA's Pods metric. Unknown values are None, so that a merge patch of the
    status removes a value the HPA no longer reports instead of keeping it stale.
    """
    status = (hpa or {}).get("status") or {}
    found: dict[str, Any] = {
        "currentReplicas": status.get("currentReplicas"),
        "desiredReplicas": status.get("desiredReplicas"),
        "lastScaleTime": status.get("lastScaleTime"),
        "cpuUtilization": None,
        "requestsPerSecond": None,
    }
    for metric in status.get("currentMetrics") or []:
        if metric.get("type") == "Resource" and (metric.get("resource") or {}).get("name") == "cpu":
            utilization = (metric["resource"].get("current") or {}).get("averageUtilization")
            found["cpuUtilization"] = None if utilization is None else int(utilization)
        elif metric.get("type") == "Pods":
            value = ((metric.get("pods") or {}).get("current") or {}).get("averageValue")
            found["requestsPerSecond"] = None if value is None else round(float(parse_quantity(value)), 3)
    return found


def _degraded(problems: Sequence[Problem]) -> _Verdict:
    """Degraded: named by the first problem, with every problem's message."""
    if not problems:
        return False, "AsExpected", "no problems found"
    return True, problems[0].reason, "; ".join(problem.message for problem in problems)


def _assess(observed: Observed) -> tuple[str, list[dict[str, Any]]]:
    """The phase and the three conditions (without transition times)."""
    deployment = observed.deployment
    rollout = None if deployment is None else _rollout(deployment, observed.desired_replicas)
    problems = list(observed.problems)
    if rollout is not None and rollout.deadline_exceeded:
        problems.append(
            Problem("ProgressDeadlineExceeded", "the Deployment made no progress within its deadline")
        )
    verdicts = {
        c.COND_READY: _ready(rollout),
        c.COND_PROGRESSING: _progressing(rollout),
        c.COND_DEGRADED: _degraded(problems),
    }
    if observed.autoscaling:
        verdicts[c.COND_AUTOSCALING_ACTIVE] = _autoscaling_active(observed.hpa)
    conditions = [
        _condition(kind, status, reason, message, observed.generation)
        for kind, (status, reason, message) in verdicts.items()
    ]
    if problems:
        phase = c.PHASE_DEGRADED
    elif verdicts[c.COND_READY][0] and not verdicts[c.COND_PROGRESSING][0]:
        phase = c.PHASE_READY
    elif deployment is None:
        phase = c.PHASE_PENDING
    else:
        phase = c.PHASE_PROGRESSING
    return phase, conditions


def _with_transition_times(
    conditions: list[dict[str, Any]], previous: Sequence[Mapping[str, Any]], now: str
) -> list[dict[str, Any]]:
    """Keep a condition's lastTransitionTime while its status is unchanged."""
    before = {str(cond.get("type")): cond for cond in previous}
    for condition in conditions:
        old = before.get(condition["type"])
        unchanged = old is not None and old.get("status") == condition["status"]
        condition["lastTransitionTime"] = (old or {}).get("lastTransitionTime", now) if unchanged else now
    return conditions


def compute_status(observed: Observed, previous: Mapping[str, Any] | None, now: str) -> dict[str, Any]:
    """The whole ``status`` of a VoiceService (``now``: RFC 3339 time for changed conditions)."""
    phase, conditions = _assess(observed)
    deployment_status = (observed.deployment or {}).get("status") or {}
    previous_conditions = (previous or {}).get("conditions") or []
    status: dict[str, Any] = {
        "observedGeneration": observed.generation,
        "phase": phase,
        "replicas": int(deployment_status.get("replicas") or 0),
        "readyReplicas": int(deployment_status.get("readyReplicas") or 0),
        "endpoint": observed.endpoint,
        "selector": observed.selector,
        "conditions": _with_transition_times(conditions, previous_conditions, now),
    }
    if observed.autoscaling:
        status["autoscaling"] = autoscaler_status(observed.hpa)
    elif "autoscaling" in (previous or {}):
        status["autoscaling"] = None  # autoscaling was turned off: the merge patch removes it
    return status


def newly_degraded(status: Mapping[str, Any], previous: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The Degraded condition when it just turned true or changed reason, else None.

    Used to post one Event per new problem rather than one per resync.
    """
    current = _find(status, c.COND_DEGRADED)
    if current is None or current.get("status") != "True":
        return None
    before = _find(previous or {}, c.COND_DEGRADED)
    if (
        before is not None
        and before.get("status") == "True"
        and before.get("reason") == current.get("reason")
    ):
        return None
    return current


def _find(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None
