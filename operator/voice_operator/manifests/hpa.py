"""The autoscaling/v2 HorizontalPodAutoscaler: CPU utilisation and requests per second per pod."""

from __future__ import annotations

from typing import Any

from voice_operator.manifests.common import Owner, object_meta
from voice_operator.spec import VoiceServiceSpec


def requests_per_second_quantity(value: float) -> str:
    """A Kubernetes quantity for a per-pod rate: whole numbers as-is, fractions in milli-units."""
    if float(value).is_integer():
        return str(int(value))
    return f"{round(value * 1000)}m"


def build_hpa(spec: VoiceServiceSpec, owner: Owner) -> dict[str, Any] | None:
    """The HPA on the Deployment, or None when autoscaling is off (``replicas`` rules then)."""
    auto = spec.autoscaling
    if not auto.enabled:
        return None
    hpa_spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": owner.name},
        "minReplicas": auto.min_replicas,
        "maxReplicas": auto.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": auto.target_cpu_utilization},
                },
            },
            {
                # A Pods metric, served by a custom-metrics adapter from the server's request counter.
                "type": "Pods",
                "pods": {
                    "metric": {"name": auto.requests_per_second_metric},
                    "target": {
                        "type": "AverageValue",
                        "averageValue": requests_per_second_quantity(auto.target_requests_per_second),
                    },
                },
            },
        ],
    }
    if auto.behavior:
        hpa_spec["behavior"] = auto.behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": object_meta(owner),
        "spec": hpa_spec,
    }
