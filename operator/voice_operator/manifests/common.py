"""Names, labels and owner references shared by every child object of a VoiceService."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voice_operator import constants as c


@dataclass(frozen=True)
class Owner:
    """The VoiceService a child belongs to: enough to name, label and adopt the child."""

    name: str
    namespace: str
    uid: str

    @classmethod
    def from_body(cls, body: Any) -> Owner:
        """Take the identity from a kopf body or a plain dict of the object."""
        meta = body["metadata"]
        return cls(name=str(meta["name"]), namespace=str(meta["namespace"]), uid=str(meta["uid"]))


def selector_labels(owner: Owner) -> dict[str, str]:
    """The pod selector; immutable on a Deployment, so it holds nothing that may ever change."""
    return {c.LABEL_NAME: c.APP_NAME, c.LABEL_INSTANCE: owner.name}


def selector_string(owner: Owner) -> str:
    """The pod selector as a label-selector string (status.selector, for the scale subresource)."""
    return ",".join(f"{key}={value}" for key, value in sorted(selector_labels(owner).items()))


def labels(owner: Owner) -> dict[str, str]:
    """Labels of every child: the selector plus the recommended descriptive ones."""
    return {
        **selector_labels(owner),
        c.LABEL_COMPONENT: c.COMPONENT,
        c.LABEL_PART_OF: c.APP_NAME,
        c.LABEL_MANAGED_BY: c.MANAGED_BY,
    }


def owner_reference(owner: Owner) -> dict[str, Any]:
    """Controller reference: deleting the VoiceService lets the garbage collector remove the child."""
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND,
        "name": owner.name,
        "uid": owner.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def object_meta(owner: Owner, name: str | None = None, **extra: Any) -> dict[str, Any]:
    """``metadata`` of a child named ``name`` (default: the VoiceService's own name)."""
    meta: dict[str, Any] = {
        "name": name or owner.name,
        "namespace": owner.namespace,
        "labels": labels(owner),
        "ownerReferences": [owner_reference(owner)],
    }
    meta.update({key: value for key, value in extra.items() if value})
    return meta


def config_map_name(owner: Owner) -> str:
    """Name of the ConfigMap holding the speakers file."""
    return f"{owner.name}-config"
