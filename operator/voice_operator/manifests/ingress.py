"""The optional Ingress: host, path, TLS and ingress-nginx rate limits."""

from __future__ import annotations

from typing import Any

from voice_operator import constants as c
from voice_operator.manifests.common import Owner, object_meta
from voice_operator.spec import IngressSpec, VoiceServiceSpec

_NGINX = "nginx.ingress.kubernetes.io/"


def rate_limit_annotations(ingress: IngressSpec) -> dict[str, str]:
    """ingress-nginx annotations for the configured limits (other controllers ignore them)."""
    limit = ingress.rate_limit
    annotations: dict[str, str] = {}
    if limit.requests_per_second is not None:
        annotations[_NGINX + "limit-rps"] = str(limit.requests_per_second)
    if limit.burst_multiplier is not None:
        annotations[_NGINX + "limit-burst-multiplier"] = str(limit.burst_multiplier)
    if limit.connections is not None:
        annotations[_NGINX + "limit-connections"] = str(limit.connections)
    return annotations


def build_ingress(spec: VoiceServiceSpec, owner: Owner) -> dict[str, Any] | None:
    """The Ingress routing ``host``/``path`` to the Service, or None when disabled."""
    ingress = spec.ingress
    if not ingress.enabled:
        return None
    # Explicit annotations win over the generated ones: the user's word is final.
    annotations = {**rate_limit_annotations(ingress), **ingress.annotations}
    body: dict[str, Any] = {
        "rules": [
            {
                "host": ingress.host,
                "http": {
                    "paths": [
                        {
                            "path": ingress.path,
                            "pathType": "Prefix",
                            "backend": {
                                "service": {"name": owner.name, "port": {"name": c.SERVER_PORT_NAME}}
                            },
                        }
                    ]
                },
            }
        ]
    }
    if ingress.class_name:
        body["ingressClassName"] = ingress.class_name
    if ingress.tls_secret_name:
        body["tls"] = [{"hosts": [ingress.host], "secretName": ingress.tls_secret_name}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": object_meta(owner, annotations=annotations),
        "spec": body,
    }
