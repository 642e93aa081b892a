"""The only module that talks to the Kubernetes API (besides kopf itself).

Children are written with server-side apply under one fixed field manager, so applying the same
objects twice changes nothing and someone else's edit of a field we own is put back (drift).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config

from voice_operator import constants as c
from voice_operator.errors import KubernetesApiError, SpecInvalidError

# kind → (plural, namespaced). Only kinds the operator touches; paths are built, not discovered,
# so a fresh CRD (ServiceMonitor) is seen without a stale discovery cache.
_RESOURCES: dict[str, tuple[str, bool]] = {
    "ConfigMap": ("configmaps", True),
    "Pod": ("pods", True),
    "Event": ("events", True),
    "Service": ("services", True),
    "PersistentVolumeClaim": ("persistentvolumeclaims", True),
    "Deployment": ("deployments", True),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", True),
    "Ingress": ("ingresses", True),
    "NetworkPolicy": ("networkpolicies", True),
    "PodDisruptionBudget": ("poddisruptionbudgets", True),
    "ServiceMonitor": ("servicemonitors", True),
    c.KIND: (c.PLURAL, True),
}
_RETRY_DELAY_S = 10.0


def load_api_client() -> client.ApiClient:
    """An API client from the in-cluster service account, else from the kubeconfig."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


def in_cluster_server() -> str | None:
    """The API server's URL as Kubernetes tells a pod (its Service address), or ``None`` outside one.

    Read the way client-go's in-cluster configuration reads it, so it needs no cluster DNS.
    """
    found = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=found)
    except config.ConfigException:
        return None
    return str(found.host)


def object_path(api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
    """REST path of an object (or of its collection when ``name`` is None)."""
    plural, namespaced = _RESOURCES[kind]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    scope = f"/namespaces/{namespace}" if namespaced else ""
    return f"{base}{scope}/{plural}" + (f"/{name}" if name else "")


@dataclass(frozen=True)
class ApiFailure:
    """A non-2xx answer: status code and the API server's message."""

    status: int
    message: str


class Kube:
    """Thin synchronous access to the objects of one VoiceService."""

    def __init__(self, api: client.ApiClient, timeout_s: float = 30.0) -> None:
        self._api = api
        self._timeout_s = timeout_s

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> tuple[dict[str, Any] | None, ApiFailure | None]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        request = self._api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(*request, _request_timeout=self._timeout_s)
        except Exception as err:  # urllib3 / connection errors: retry later, don't crash.
            raise KubernetesApiError(f"{method} {path}: {err}", delay=_RETRY_DELAY_S) from err
        raw = response.read() or b"{}"
        try:
            data = json.loads(raw)
        except ValueError:
            data = {"message": raw.decode("utf-8", "replace")}
        if 200 <= response.status < 300:
            return data, None
        return None, ApiFailure(response.status, str(data.get("message", response.reason)))

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply ``obj`` (forcing our field manager's ownership); returns the result."""
        data = self._apply(obj, c.FIELD_MANAGER, force=True)
        assert data is not None
        return data

    def apply_as(self, obj: dict[str, Any], manager: str) -> bool:
        """Server-side apply ``obj`` as ``manager`` without forcing; False on a conflict.

        A conflict means another manager owns one of the fields with a different value; nothing
        is written then.
        """
        return self._apply(obj, manager, force=False) is not None

    def _apply(self, obj: dict[str, Any], manager: str, *, force: bool) -> dict[str, Any] | None:
        meta = obj["metadata"]
        path = object_path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
        query = [("fieldManager", manager)] + ([("force", "true")] if force else [])
        data, failure = self._call(
            "PATCH", path, body=obj, query=query, content_type="application/apply-patch+yaml"
        )
        if failure is None and data is not None:
            return data
        assert failure is not None
        if failure.status == 409 and not force:
            return None
        what = f"{obj['kind']} {meta['name']}"
        if failure.status in (400, 422):
            # The API server refused what we built from the spec: a new spec is needed, not a retry.
            raise SpecInvalidError(f"{what} was refused: {failure.message}")
        raise KubernetesApiError(f"applying {what}: {failure.status} {failure.message}", delay=_RETRY_DELAY_S)

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        data, failure = self._call("GET", object_path(api_version, kind, namespace, name))
        if failure is None:
            return data
        if failure.status == 404:
            return None
        raise KubernetesApiError(
            f"reading {kind} {name}: {failure.status} {failure.message}", delay=_RETRY_DELAY_S
        )

    def list(
        self, api_version: str, kind: str, namespace: str, selector: str = "", fields: str = ""
    ) -> list[dict[str, Any]]:
        """The objects of ``kind`` in ``namespace`` that match the label ``selector`` and ``fields``."""
        path = object_path(api_version, kind, namespace)
        query = [
            (name, value) for name, value in (("labelSelector", selector), ("fieldSelector", fields)) if value
        ]
        data, failure = self._call("GET", path, query=query)
        if failure is None and data is not None:
            return list(data.get("items") or [])
        assert failure is not None
        raise KubernetesApiError(
            f"listing {kind} ({selector or fields}): {failure.status} {failure.message}", delay=_RETRY_DELAY_S
        )

    def exists(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        """Whether the object exists."""
        return self.get(api_version, kind, namespace, name) is not None

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        """Delete the object if present; True when something was deleted. A missing API is 'absent'."""
        _, failure = self._call("DELETE", object_path(api_version, kind, namespace, name))
        if failure is None:
            return True
        if failure.status == 404:
            return False
        raise KubernetesApiError(
            f"deleting {kind} {name}: {failure.status} {failure.message}", delay=_RETRY_DELAY_S
        )

    def api_available(self, api_version: str) -> bool:
        """Whether the API server serves ``api_version`` (e.g. monitoring.coreos.com/v1)."""
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        _, failure = self._call("GET", base)
        if failure is None:
            return True
        if failure.status == 404:
            return False
        raise KubernetesApiError(
            f"discovery of {api_version}: {failure.status} {failure.message}", delay=_RETRY_DELAY_S
        )

    def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge ``status`` into a VoiceService's status subresource; a vanished object is ignored."""
        path = object_path(c.API_VERSION, c.KIND, namespace, name) + "/status"
        _, failure = self._call(
            "PATCH", path, body={"status": status}, content_type="application/merge-patch+json"
        )
        if failure is not None and failure.status != 404:
            raise KubernetesApiError(
                f"status of {name}: {failure.status} {failure.message}", delay=_RETRY_DELAY_S
            )

    def get_voiceservice(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A VoiceService, or None when it is gone."""
        return self.get(c.API_VERSION, c.KIND, namespace, name)
