"""The optional PodDisruptionBudget."""

from __future__ import annotations

from typing import Any

from voice_operator.manifests.common import Owner, object_meta, selector_labels
from voice_operator.spec import VoiceServiceSpec


def build_pdb(spec: VoiceServiceSpec, owner: Owner) -> dict[str, Any] | None:
    """policy/v1 PDB over the server pods, or None when disabled; maxUnavailable 1 by default."""
    pdb = spec.pod_disruption_budget
    if not pdb.enabled:
        return None
    body: dict[str, Any] = {"selector": {"matchLabels": selector_labels(owner)}}
    if pdb.min_available is not None:
        body["minAvailable"] = pdb.min_available
    else:
        body["maxUnavailable"] = pdb.max_unavailable if pdb.max_unavailable is not None else 1
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(owner),
        "spec": body,
    }
