"""How the model weights reach the pod: volumes, mounts and an optional fetching init container."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from voice_operator import constants as c
from voice_operator.fetchers import script_text
from voice_operator.spec import HttpSource, HuggingFaceSource, ModelSource

# A fetcher needs little CPU but room to unpack archives in memory-backed buffers.
_FETCH_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "2Gi"}}


@dataclass(frozen=True)
class ModelMount:
    """What the server container needs for its weights."""

    model_dir: str
    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    init_containers: list[dict[str, Any]] = field(default_factory=list)


def _cache_volume(claim_name: str | None) -> dict[str, Any]:
    """A PVC cache when named (survives restarts), else an emptyDir per pod."""
    if claim_name:
        return {"name": c.VOLUME_MODEL, "persistentVolumeClaim": {"claimName": claim_name}}
    return {"name": c.VOLUME_MODEL, "emptyDir": {}}


def _read_only_mount(sub_path: str | None = None) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": c.VOLUME_MODEL, "mountPath": c.MODEL_DIR, "readOnly": True}
    if sub_path:
        mount["subPath"] = sub_path
    return mount


def _fetcher(
    image: str, pull_policy: str, security: dict[str, Any], script: str, args: list[str]
) -> dict[str, Any]:
    return {
        "name": c.FETCH_CONTAINER,
        "image": image,
        "imagePullPolicy": pull_policy,
        "command": ["python", "-c", script_text(script), *args],
        "securityContext": security,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "resources": _FETCH_RESOURCES,
        "env": [
            {"name": "HOME", "value": c.TMP_DIR},
            {"name": "HF_HOME", "value": f"{c.TMP_DIR}/hf"},
            # The server image runs offline; the fetcher is the one place that may download.
            {"name": "HF_HUB_OFFLINE", "value": "0"},
        ],
        "volumeMounts": [
            {"name": c.VOLUME_MODEL, "mountPath": c.MODEL_DIR},
            {"name": c.VOLUME_TMP, "mountPath": c.TMP_DIR},
        ],
    }


def _http(source: HttpSource, image: str, pull_policy: str, security: dict[str, Any]) -> dict[str, Any]:
    return _fetcher(image, pull_policy, security, "http_fetch", [source.url, source.sha256, c.MODEL_DIR])


def _hugging_face(
    source: HuggingFaceSource, image: str, pull_policy: str, security: dict[str, Any]
) -> dict[str, Any]:
    checksums = json.dumps(source.sha256, sort_keys=True, separators=(",", ":"))
    args = [source.repo, source.revision, c.MODEL_DIR, checksums, *source.files]
    container = _fetcher(image, pull_policy, security, "hf_fetch", args)
    if source.token_secret_ref is not None:
        ref = source.token_secret_ref
        container["env"].append(
            {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
        )
    return container


def model_mount(source: ModelSource, image: str, pull_policy: str, security: dict[str, Any]) -> ModelMount:
    """Volumes, mounts and init containers for ``source``; ``security`` is the container context."""
    if source.persistent_volume_claim is not None:
        pvc = source.persistent_volume_claim
        volume = {
            "name": c.VOLUME_MODEL,
            "persistentVolumeClaim": {"claimName": pvc.claim_name, "readOnly": pvc.read_only},
        }
        return ModelMount(c.MODEL_DIR, [volume], [_read_only_mount(pvc.sub_path)])
    if source.host_path is not None:
        volume = {
            "name": c.VOLUME_MODEL,
            "hostPath": {"path": source.host_path.path, "type": source.host_path.type},
        }
        return ModelMount(c.MODEL_DIR, [volume], [_read_only_mount()])
    if source.image is not None:
        # Weights are part of the server image: nothing to mount.
        return ModelMount(source.image.path)
    if source.http is not None:
        init = _http(source.http, image, pull_policy, security)
        return ModelMount(
            c.MODEL_DIR, [_cache_volume(source.http.cache_claim_name)], [_read_only_mount()], [init]
        )
    if source.hugging_face is not None:
        init = _hugging_face(source.hugging_face, image, pull_policy, security)
        return ModelMount(
            c.MODEL_DIR, [_cache_volume(source.hugging_face.cache_claim_name)], [_read_only_mount()], [init]
        )
    raise AssertionError("ModelSource validates that one source is set")  # pragma: no cover


def claims_used(source: ModelSource) -> list[str]:
    """PersistentVolumeClaims the pods will mount (so the operator can check that they exist)."""
    if source.persistent_volume_claim is not None:
        return [source.persistent_volume_claim.claim_name]
    for fetched in (source.http, source.hugging_face):
        if fetched is not None and fetched.cache_claim_name:
            return [fetched.cache_claim_name]
    return []
