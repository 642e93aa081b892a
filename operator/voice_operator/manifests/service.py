"""The Service in front of the server pods."""

from __future__ import annotations

from typing import Any

from voice_operator import constants as c
from voice_operator.manifests.common import Owner, object_meta, selector_labels
from voice_operator.spec import VoiceServiceSpec


def build_service(spec: VoiceServiceSpec, owner: Owner) -> dict[str, Any]:
    """Service named like the VoiceService, forwarding ``service.port`` to the server's port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(owner),
        "spec": {
            "type": spec.service.type,
            "selector": selector_labels(owner),
            "ports": [
                {
                    "name": c.SERVER_PORT_NAME,
                    "port": spec.service.port,
                    "targetPort": c.SERVER_PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


def service_endpoint(spec: VoiceServiceSpec, owner: Owner) -> str:
    """Where to call the service: the Ingress URL when there is one, else the in-cluster URL."""
    if spec.ingress.enabled and spec.ingress.host:
        scheme = "https" if spec.ingress.tls_secret_name else "http"
        path = spec.ingress.path.rstrip("/")
        return f"{scheme}://{spec.ingress.host}{path}"
    return f"http://{owner.name}.{owner.namespace}.svc:{spec.service.port}"
