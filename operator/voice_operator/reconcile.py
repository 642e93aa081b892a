"""One reconcile of one VoiceService: parse, check references, apply children, compute status.

The handlers call :func:`reconcile`; it does I/O only through :class:`~voice_operator.kube.Kube`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voice_operator import constants as c
from voice_operator.errors import SpecInvalidError
from voice_operator.kube import Kube
from voice_operator.manifests import Owner, build_children, selector_string, service_endpoint
from voice_operator.manifests.deployment import build_replicas_handover
from voice_operator.manifests.model_source import claims_used
from voice_operator.pod_health import MOUNT_FAILURE_EVENTS, pod_problems, waiting_for_volumes
from voice_operator.spec import VoiceServiceSpec, parse_spec
from voice_operator.status import Observed, Problem, compute_status, newly_degraded


@dataclass(frozen=True)
class Outcome:
    """The status to write, and the Degraded condition to announce as an Event (if new)."""

    status: dict[str, Any]
    event: Mapping[str, Any] | None


def missing_references(kube: Kube, spec: VoiceServiceSpec, namespace: str) -> list[Problem]:
    """Problems the schema cannot see: referenced PVCs that do not exist.

    Secrets are not looked up: the operator holds no permission on them. A missing one is
    reported from the pods (:func:`pod_reports`), as the kubelet finds it.
    """
    return [
        Problem(
            "PersistentVolumeClaimMissing", f"PersistentVolumeClaim {claim!r} does not exist in {namespace}"
        )
        for claim in claims_used(spec.model.source)
        if not kube.exists("v1", "PersistentVolumeClaim", namespace, claim)
    ]


def pod_reports(kube: Kube, spec: VoiceServiceSpec, owner: Owner) -> list[Problem]:
    """Why the pods do not serve, from their status and, while some wait for volumes, mount Events."""
    pods = kube.list("v1", "Pod", owner.namespace, selector_string(owner))
    mounts = (
        kube.list("v1", "Event", owner.namespace, fields=MOUNT_FAILURE_EVENTS)
        if waiting_for_volumes(pods)
        else []
    )
    return pod_problems(pods, spec.resources.gpu_resource_name, mounts)


def version_problems(spec: VoiceServiceSpec) -> list[Problem]:
    """Model versions the server cannot load yet."""
    if spec.model.version in c.SUPPORTED_MODEL_VERSIONS:
        return []
    supported = ", ".join(sorted(c.SUPPORTED_MODEL_VERSIONS))
    return [
        Problem(
            "UnsupportedModelVersion", f"model.version {spec.model.version} is not served yet ({supported})"
        )
    ]


def hand_over_replicas(kube: Kube, owner: Owner) -> None:
    """Let a second field manager hold the Deployment's replica count before autoscaling takes it.

    As Kubernetes documents for handing ``replicas`` to an HPA: a conflict means the HPA has
    written the field already, and then there is nothing to keep.
    """
    live = kube.get("apps/v1", "Deployment", owner.namespace, owner.name)
    handover = build_replicas_handover(owner, live)
    if handover is not None:
        kube.apply_as(handover, c.REPLICAS_HANDOVER_MANAGER)


def reconcile(kube: Kube, body: Mapping[str, Any], *, default_image: str, now: str) -> Outcome:
    """Bring the children of ``body`` in line with its spec and report what is observed."""
    owner = Owner.from_body(body)
    generation = int(body["metadata"].get("generation") or 0)
    previous = body.get("status") or {}
    try:
        spec = parse_spec(body.get("spec") or {})
    except SpecInvalidError as err:
        current = kube.get("apps/v1", "Deployment", owner.namespace, owner.name)
        observed = Observed(
            generation, current, None, "", selector_string(owner), [Problem("InvalidSpec", str(err))]
        )
        status = compute_status(observed, previous, now)
        return Outcome(status, newly_degraded(status, previous))

    problems = version_problems(spec) + missing_references(kube, spec, owner.namespace)
    monitoring = spec.monitoring.enabled and kube.api_available(c.SERVICEMONITOR_API_VERSION)
    children = build_children(spec, owner, default_image=default_image, servicemonitor_available=monitoring)
    deployment: dict[str, Any] | None = None
    hpa: dict[str, Any] | None = None
    try:
        if spec.autoscaling.enabled:
            hand_over_replicas(kube, owner)
        for obj in children.apply:
            result = kube.apply(obj)
            if obj["kind"] == "Deployment":
                deployment = result
            elif obj["kind"] == "HorizontalPodAutoscaler":
                hpa = result
    except SpecInvalidError as err:
        problems.append(Problem("ApplyRefused", str(err)))
    for api_version, kind in children.absent:
        kube.delete(api_version, kind, owner.namespace, owner.name)
    if deployment is None:
        deployment = kube.get("apps/v1", "Deployment", owner.namespace, owner.name)
    if hpa is None and spec.autoscaling.enabled:
        hpa = kube.get("autoscaling/v2", "HorizontalPodAutoscaler", owner.namespace, owner.name)

    if deployment is not None:
        problems += pod_reports(kube, spec, owner)
    desired = None if spec.autoscaling.enabled else spec.replicas
    observed = Observed(
        generation,
        deployment,
        desired,
        service_endpoint(spec, owner),
        selector_string(owner),
        problems,
        autoscaling=spec.autoscaling.enabled,
        hpa=hpa,
    )
    status = compute_status(observed, previous, now)
    return Outcome(status, newly_degraded(status, previous))
