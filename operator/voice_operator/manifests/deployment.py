"""The Deployment running the TTS server: probes, GPU limits, hardening, settings as env vars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voice_operator import constants as c
from voice_operator.manifests.common import Owner, config_map_name, object_meta, selector_labels
from voice_operator.manifests.model_source import model_mount
from voice_operator.spec import Resources, VoiceServiceSpec

_PROBE_PERIOD_S = 10
# Extra seconds after the drain window before the kubelet kills the pod outright.
_KILL_MARGIN_S = 5


def _env(name: str, value: object) -> dict[str, str]:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return {"name": c.SERVER_ENV_PREFIX + name, "value": text}


def server_env(spec: VoiceServiceSpec, model_dir: str) -> list[dict[str, str]]:
    """The inference settings as the server's VOICE_SERVER_* variables (see ServerSettings)."""
    inference = spec.inference
    env = [
        _env("PORT", c.SERVER_PORT),
        _env("LOG_FORMAT", "json"),
        _env("DEVICE", "cuda" if spec.resources.gpu > 0 else "cpu"),
        _env("PRECISION", inference.precision),
        _env("MODEL_DIR", model_dir),
        _env("GPT_WEIGHTS", spec.model.gpt_weights),
        _env("SOVITS_WEIGHTS", spec.model.sovits_weights),
        _env("SPEAKERS_FILE", f"{c.CONFIG_DIR}/{c.SPEAKERS_KEY}"),
        _env("MAX_BATCH_SIZE", inference.max_batch_size),
        _env("MAX_BATCH_DELAY_MS", inference.max_batch_delay_ms),
        _env("MAX_QUEUE", inference.max_queue),
        _env("SCHEDULER", inference.scheduler),
        _env("SOVITS_MAX_BATCH_SIZE", inference.sovits_max_batch_size),
        _env("FIRST_CHUNK_TOKENS", inference.first_chunk_tokens),
        _env("CACHE_ENABLED", inference.cache.enabled),
        _env("CACHE_MAX_ENTRIES", inference.cache.max_entries),
        _env("CACHE_MAX_BYTES", inference.cache.max_bytes),
        _env("GRACEFUL_SHUTDOWN_S", spec.shutdown.drain_seconds),
    ]
    if inference.max_tokens_per_sentence is not None:
        env.append(_env("MAX_TOKENS_PER_SENTENCE", inference.max_tokens_per_sentence))
    if inference.gpt_cache_mib is not None:
        env.append(_env("GPT_CACHE_MIB", inference.gpt_cache_mib))
    sv_weights = spec.model.speaker_verification_file
    if sv_weights is not None:
        env.append(_env("SV_WEIGHTS", sv_weights))
    if spec.model.bert_dir:
        env.append(_env("BERT_DIR", spec.model.bert_dir))
    if spec.model.hubert_dir:
        env.append(_env("HUBERT_DIR", spec.model.hubert_dir))
    if spec.model.g2pw_dir:
        env.append(_env("G2PW_MODEL_DIR", spec.model.g2pw_dir))
        if spec.model.bert_dir:  # the official G2PW reads the Chinese BERT's tokenizer
            env.append(_env("G2PW_TOKENIZER_DIR", spec.model.bert_dir))
    if spec.model.ja_user_dict:
        env.append(_env("JA_USER_DICT", spec.model.ja_user_dict))
    if spec.auth.api_key_secret_ref is not None:
        env.append(_env("API_KEY_FILE", f"{c.API_KEY_DIR}/{c.API_KEY_FILE}"))
    return env


def container_resources(resources: Resources) -> dict[str, Any]:
    """requests/limits with the GPU count as an extended resource (requests == limits for GPUs)."""
    requests = resources.requests.model_dump(exclude_none=True)
    limits = resources.limits.model_dump(exclude_none=True)
    if resources.gpu > 0:
        requests[resources.gpu_resource_name] = str(resources.gpu)
        limits[resources.gpu_resource_name] = str(resources.gpu)
    body: dict[str, Any] = {}
    if requests:
        body["requests"] = requests
    if limits:
        body["limits"] = limits
    return body


def container_security() -> dict[str, Any]:
    """Non-root, read-only root filesystem, no privilege escalation, every capability dropped."""
    return {
        "runAsNonRoot": True,
        "runAsUser": c.SERVER_USER_ID,
        "runAsGroup": c.SERVER_USER_ID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _probe(path: str, failure_threshold: int, period: int = _PROBE_PERIOD_S) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": c.SERVER_PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failure_threshold,
    }


def probes(spec: VoiceServiceSpec) -> dict[str, Any]:
    """Startup (long: model loading), liveness and readiness probes on the server's paths.

    The startup probe asks ``/startup``, which passes only once the model is loaded and warm (or
    its load failed): a load that hangs is restarted after ``startupTimeoutSeconds``, and a load
    that fails is left to the liveness probe at once.
    """
    startup_failures = -(-spec.startup_timeout_seconds // _PROBE_PERIOD_S)  # ceiling division
    return {
        "startupProbe": _probe(c.STARTUP_PATH, startup_failures),
        "livenessProbe": _probe(c.LIVENESS_PATH, 3),
        "readinessProbe": _probe(c.READINESS_PATH, 2, period=5),
    }


def _config_volumes(
    spec: VoiceServiceSpec, owner: Owner
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [
        {"name": c.VOLUME_CONFIG, "configMap": {"name": config_map_name(owner)}},
        # The root filesystem is read-only; torch, tokenizers and tempfile need somewhere to write.
        {"name": c.VOLUME_TMP, "emptyDir": {}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": c.VOLUME_CONFIG, "mountPath": c.CONFIG_DIR, "readOnly": True},
        {"name": c.VOLUME_TMP, "mountPath": c.TMP_DIR},
    ]
    ref = spec.auth.api_key_secret_ref
    if ref is not None:
        volumes.append(
            {
                "name": c.VOLUME_API_KEY,
                "secret": {"secretName": ref.name, "items": [{"key": ref.key, "path": c.API_KEY_FILE}]},
            }
        )
        mounts.append({"name": c.VOLUME_API_KEY, "mountPath": c.API_KEY_DIR, "readOnly": True})
    return volumes, mounts


def pod_annotations(spec: VoiceServiceSpec) -> dict[str, str]:
    """Prometheus scrape annotations, then the user's own (which may override them)."""
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(c.SERVER_PORT),
        "prometheus.io/path": c.METRICS_PATH,
        **spec.pod_annotations,
    }


def _pod_spec(spec: VoiceServiceSpec, owner: Owner, image: str) -> dict[str, Any]:
    security = container_security()
    model = model_mount(spec.model.source, image, spec.image_pull_policy, security)
    config_volumes, config_mounts = _config_volumes(spec, owner)
    container: dict[str, Any] = {
        "name": c.SERVER_CONTAINER,
        "image": image,
        "imagePullPolicy": spec.image_pull_policy,
        "ports": [{"name": c.SERVER_PORT_NAME, "containerPort": c.SERVER_PORT, "protocol": "TCP"}],
        "env": server_env(spec, model.model_dir),
        "resources": container_resources(spec.resources),
        "securityContext": security,
        # A crash's last log lines become its termination message, which status reports.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [*model.mounts, *config_mounts],
        # Keep serving while endpoints drop this pod, so no request hits a closed socket.
        "lifecycle": {"preStop": {"sleep": {"seconds": spec.shutdown.pre_stop_delay_seconds}}},
        **probes(spec),
    }
    pod: dict[str, Any] = {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": c.SERVER_USER_ID,
            "runAsGroup": c.SERVER_USER_ID,
            "fsGroup": c.SERVER_USER_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": spec.shutdown.pre_stop_delay_seconds
        + spec.shutdown.drain_seconds
        + _KILL_MARGIN_S,
        "automountServiceAccountToken": False,
        "containers": [container],
        "volumes": [*model.volumes, *config_volumes],
    }
    if model.init_containers:
        pod["initContainers"] = model.init_containers
    if spec.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": name} for name in spec.image_pull_secrets]
    if spec.node_selector:
        pod["nodeSelector"] = spec.node_selector
    if spec.tolerations:
        pod["tolerations"] = spec.tolerations
    if spec.affinity:
        pod["affinity"] = spec.affinity
    return pod


def build_deployment(spec: VoiceServiceSpec, owner: Owner, default_image: str) -> dict[str, Any]:
    """The server Deployment; ``replicas`` is left to the HPA when autoscaling is on."""
    image = spec.image or default_image
    body: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(owner)},
        "revisionHistoryLimit": 3,
        # GPUs are scarce: add one new pod at a time and never drop below the wanted count.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": object_meta(owner)["labels"], "annotations": pod_annotations(spec)},
            "spec": _pod_spec(spec, owner, image),
        },
    }
    if not spec.autoscaling.enabled:
        body["replicas"] = spec.replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": object_meta(owner), "spec": body}


def owns_replicas(deployment: Mapping[str, Any], manager: str) -> bool:
    """Whether ``manager`` last applied ``spec.replicas`` of ``deployment`` (its managedFields)."""
    for entry in (deployment.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") != manager or entry.get("operation") != "Apply":
            continue
        if "f:replicas" in ((entry.get("fieldsV1") or {}).get("f:spec") or {}):
            return True
    return False


def build_replicas_handover(owner: Owner, live: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The live replica count alone, for the hand-over field manager to apply; or None.

    Under server-side apply a field that its only manager stops applying is reset to its default,
    so dropping ``replicas`` for the HPA would first scale the Deployment to 1. Applied once by a
    second manager with the same value, the field is shared and survives the operator's next apply;
    the HPA's first write takes it from that manager. None when the operator does not own the field.
    """
    if live is None or not owns_replicas(live, c.FIELD_MANAGER):
        return None
    replicas = (live.get("spec") or {}).get("replicas")
    if replicas is None:
        return None
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": owner.name, "namespace": owner.namespace},
        "spec": {"replicas": int(replicas)},
    }
