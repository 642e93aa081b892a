"""The optional NetworkPolicy: the server port open only to the namespaces the spec names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voice_operator import constants as c
from voice_operator.manifests.common import Owner, object_meta, selector_labels
from voice_operator.spec import VoiceServiceSpec

# Kubernetes sets this label on every namespace to its name, and nobody can change it.
_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _from_namespaces(names: Sequence[str]) -> dict[str, Any]:
    """An ingress rule letting pods of ``names`` reach the server port, and nothing else."""
    selector = {
        "matchExpressions": [{"key": _NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(set(names))}]
    }
    return {
        "from": [{"namespaceSelector": selector}],
        "ports": [{"protocol": "TCP", "port": c.SERVER_PORT_NAME}],
    }


def build_networkpolicy(spec: VoiceServiceSpec, owner: Owner) -> dict[str, Any] | None:
    """NetworkPolicy over the server pods, or None when disabled.

    One rule for API clients and one for metrics scrapers, both on the port the Service targets
    (the server serves /metrics there too). A list left empty adds no rule: a rule without
    ``from`` would admit every source. With both empty no traffic is admitted.
    """
    policy = spec.network_policy
    if not policy.enabled:
        return None
    rules = [
        _from_namespaces(names)
        for names in (policy.allow_from_namespaces, policy.allow_metrics_from_namespaces)
        if names
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(owner),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(owner)},
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }
