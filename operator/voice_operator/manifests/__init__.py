"""Pure builders: a VoiceService spec in, the Kubernetes objects it stands for out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voice_operator.manifests.common import Owner, selector_string
from voice_operator.manifests.configmap import build_configmap
from voice_operator.manifests.deployment import build_deployment
from voice_operator.manifests.hpa import build_hpa
from voice_operator.manifests.ingress import build_ingress
from voice_operator.manifests.networkpolicy import build_networkpolicy
from voice_operator.manifests.pdb import build_pdb
from voice_operator.manifests.service import build_service, service_endpoint
from voice_operator.manifests.servicemonitor import build_servicemonitor
from voice_operator.spec import VoiceServiceSpec

__all__ = [
    "Children",
    "Owner",
    "build_children",
    "build_configmap",
    "build_deployment",
    "build_hpa",
    "build_ingress",
    "build_networkpolicy",
    "build_pdb",
    "build_service",
    "build_servicemonitor",
    "selector_string",
    "service_endpoint",
]

# (apiVersion, kind) of the optional children, in the order they are applied.
OPTIONAL_KINDS: tuple[tuple[str, str], ...] = (
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "Ingress"),
    ("policy/v1", "PodDisruptionBudget"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
)


@dataclass(frozen=True)
class Children:
    """Objects to apply, and optional kinds that must not exist (disabled in the spec)."""

    apply: list[dict[str, Any]]
    absent: list[tuple[str, str]]


def build_children(
    spec: VoiceServiceSpec, owner: Owner, *, default_image: str, servicemonitor_available: bool
) -> Children:
    """Every child of one VoiceService; the ConfigMap first, since the pods mount it."""
    required = [
        build_configmap(spec, owner),
        build_service(spec, owner),
        build_deployment(spec, owner, default_image),
    ]
    optional = {
        "HorizontalPodAutoscaler": build_hpa(spec, owner),
        "Ingress": build_ingress(spec, owner),
        "PodDisruptionBudget": build_pdb(spec, owner),
        # Without the Prometheus Operator's CRD the API server would refuse the object.
        "ServiceMonitor": build_servicemonitor(spec, owner) if servicemonitor_available else None,
        "NetworkPolicy": build_networkpolicy(spec, owner),
    }
    apply = required + [obj for obj in optional.values() if obj is not None]
    absent = [(api, kind) for api, kind in OPTIONAL_KINDS if optional[kind] is None]
    return Children(apply=apply, absent=absent)
