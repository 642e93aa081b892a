"""Pure builders: every branch of every child object, checked without a cluster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from voice_operator import constants as c
from voice_operator.fetchers import script_text
from voice_operator.manifests import (
    Owner,
    build_children,
    build_configmap,
    build_deployment,
    build_hpa,
    build_ingress,
    build_networkpolicy,
    build_pdb,
    build_service,
    build_servicemonitor,
    selector_string,
    service_endpoint,
)
from voice_operator.manifests.deployment import build_replicas_handover, owns_replicas
from voice_operator.manifests.hpa import requests_per_second_quantity
from voice_operator.manifests.model_source import claims_used
from voice_operator.spec import VoiceServiceSpec, parse_spec

OWNER = Owner(name="narrator", namespace="voice", uid="1234-abcd")
IMAGE = "registry.example/server:1"


def make(**extra: Any) -> VoiceServiceSpec:
    spec: dict[str, Any] = {
        "model": {
            "gptWeights": "g.ckpt",
            "sovitsWeights": "s.pth",
            "source": {"persistentVolumeClaim": {"claimName": "models"}},
        }
    }
    spec.update(extra)
    return parse_spec(spec)


def with_source(source: dict[str, Any]) -> VoiceServiceSpec:
    return make(model={"gptWeights": "g.ckpt", "sovitsWeights": "s.pth", "source": source})


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def server(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = pod(deployment)["containers"]
    assert [x["name"] for x in containers] == [c.SERVER_CONTAINER]
    return containers[0]


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in server(deployment)["env"]}


# --- metadata shared by all children ------------------------------------------------------------


def test_every_child_is_owned_labelled_and_namespaced() -> None:
    spec = make(
        autoscaling={"enabled": True},
        ingress={"enabled": True, "host": "tts.example.com"},
        podDisruptionBudget={"enabled": True},
        monitoring={"enabled": True},
        networkPolicy={"enabled": True, "allowFromNamespaces": ["voice"]},
    )
    children = build_children(spec, OWNER, default_image=IMAGE, servicemonitor_available=True)
    kinds = [obj["kind"] for obj in children.apply]
    assert kinds == [
        "ConfigMap",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "NetworkPolicy",
    ]
    assert children.absent == []
    for obj in children.apply:
        meta = obj["metadata"]
        assert meta["namespace"] == "voice"
        assert meta["labels"][c.LABEL_INSTANCE] == "narrator"
        assert meta["labels"][c.LABEL_MANAGED_BY] == c.MANAGED_BY
        (ref,) = meta["ownerReferences"]
        assert ref == {
            "apiVersion": c.API_VERSION,
            "kind": c.KIND,
            "name": "narrator",
            "uid": "1234-abcd",
            "controller": True,
            "blockOwnerDeletion": True,
        }


def test_disabled_optional_children_are_listed_as_absent() -> None:
    children = build_children(make(), OWNER, default_image=IMAGE, servicemonitor_available=True)
    assert [obj["kind"] for obj in children.apply] == ["ConfigMap", "Service", "Deployment"]
    assert [kind for _, kind in children.absent] == [
        "HorizontalPodAutoscaler",
        "Ingress",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "NetworkPolicy",
    ]


def test_servicemonitor_is_skipped_without_its_crd() -> None:
    children = build_children(
        make(monitoring={"enabled": True}), OWNER, default_image=IMAGE, servicemonitor_available=False
    )
    assert "ServiceMonitor" not in [obj["kind"] for obj in children.apply]


def test_selector_string() -> None:
    assert selector_string(OWNER) == "app.kubernetes.io/instance=narrator,app.kubernetes.io/name=gpt-sovits"


# --- Deployment -------------------------------------------------------------------------------


def test_deployment_basics() -> None:
    dep = build_deployment(make(replicas=2), OWNER, IMAGE)
    assert dep["apiVersion"] == "apps/v1"
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["selector"]["matchLabels"] == {
        c.LABEL_NAME: c.APP_NAME,
        c.LABEL_INSTANCE: "narrator",
    }
    template_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= template_labels.items()
    container = server(dep)
    assert container["image"] == IMAGE
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_spec_image_wins_over_the_default() -> None:
    dep = build_deployment(make(image="mine:2", imagePullPolicy="Always"), OWNER, IMAGE)
    assert server(dep)["image"] == "mine:2"
    assert server(dep)["imagePullPolicy"] == "Always"


def test_autoscaling_leaves_replicas_to_the_hpa() -> None:
    dep = build_deployment(make(replicas=3, autoscaling={"enabled": True}), OWNER, IMAGE)
    assert "replicas" not in dep["spec"]


def live_deployment(replicas: int, *managers: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """A Deployment as the API server returns it, with (manager, operation, f:spec) entries."""
    fields = [
        {"manager": who, "operation": op, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": spec}}
        for who, op, spec in managers
    ]
    return {"metadata": {"name": "narrator", "managedFields": fields}, "spec": {"replicas": replicas}}


def test_replicas_handover_keeps_the_live_count_under_a_second_manager() -> None:
    live = live_deployment(4, (c.FIELD_MANAGER, "Apply", {"f:replicas": {}, "f:template": {}}))
    assert owns_replicas(live, c.FIELD_MANAGER)
    assert build_replicas_handover(OWNER, live) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "narrator", "namespace": "voice"},
        "spec": {"replicas": 4},
    }


@pytest.mark.parametrize(
    "managers",
    [
        # Handed over already: the operator's apply no longer holds replicas.
        (
            (c.FIELD_MANAGER, "Apply", {"f:template": {}}),
            (c.REPLICAS_HANDOVER_MANAGER, "Apply", {"f:replicas": {}}),
        ),
        # The HPA wrote the count (an update through the scale subresource).
        (
            (c.FIELD_MANAGER, "Apply", {"f:template": {}}),
            ("kube-controller-manager", "Update", {"f:replicas": {}}),
        ),
        # An update by the operator's name is no applied configuration of it.
        ((c.FIELD_MANAGER, "Update", {"f:replicas": {}}),),
    ],
)
def test_no_replicas_handover_when_the_operator_does_not_apply_them(
    managers: tuple[tuple[str, str, dict[str, Any]], ...],
) -> None:
    assert build_replicas_handover(OWNER, live_deployment(4, *managers)) is None


def test_no_replicas_handover_without_a_deployment() -> None:
    assert build_replicas_handover(OWNER, None) is None


def test_probes_point_at_the_server_paths() -> None:
    container = server(build_deployment(make(startupTimeoutSeconds=600), OWNER, IMAGE))
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == "/startup"
    # Long enough for model loading: period × failures covers the timeout.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600


def test_draining_prestop_and_grace_period() -> None:
    dep = build_deployment(make(shutdown={"preStopDelaySeconds": 7, "drainSeconds": 40}), OWNER, IMAGE)
    assert server(dep)["lifecycle"] == {"preStop": {"sleep": {"seconds": 7}}}
    assert pod(dep)["terminationGracePeriodSeconds"] > 7 + 40
    assert env_of(dep)["VOICE_SERVER_GRACEFUL_SHUTDOWN_S"] == "40"


def test_hardened_security_context() -> None:
    dep = build_deployment(make(), OWNER, IMAGE)
    ctx = server(dep)["securityContext"]
    assert ctx["runAsNonRoot"] is True
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    pod_ctx = pod(dep)["securityContext"]
    assert pod_ctx["runAsNonRoot"] is True
    assert pod_ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    # The read-only root needs a writable /tmp.
    assert {"name": c.VOLUME_TMP, "mountPath": "/tmp"} in server(dep)["volumeMounts"]


def test_gpu_limits_and_resources() -> None:
    spec = make(
        resources={
            "gpu": 2,
            "gpuResourceName": "amd.com/gpu",
            "requests": {"cpu": "2", "memory": "8Gi"},
            "limits": {"cpu": "4", "memory": "12Gi"},
        }
    )
    resources = server(build_deployment(spec, OWNER, IMAGE))["resources"]
    assert resources["limits"] == {"cpu": "4", "memory": "12Gi", "amd.com/gpu": "2"}
    assert resources["requests"] == {"cpu": "2", "memory": "8Gi", "amd.com/gpu": "2"}
    assert env_of(build_deployment(spec, OWNER, IMAGE))["VOICE_SERVER_DEVICE"] == "cuda"


def test_cpu_only_pods_ask_for_no_gpu() -> None:
    dep = build_deployment(make(resources={"gpu": 0, "requests": {}, "limits": {}}), OWNER, IMAGE)
    assert server(dep)["resources"] == {}
    assert env_of(dep)["VOICE_SERVER_DEVICE"] == "cpu"


def test_unset_inference_caps_leave_the_server_defaults() -> None:
    env = env_of(build_deployment(make(), OWNER, IMAGE))
    assert env["VOICE_SERVER_SCHEDULER"] == "continuous"
    assert env["VOICE_SERVER_SOVITS_MAX_BATCH_SIZE"] == "1"
    assert env["VOICE_SERVER_FIRST_CHUNK_TOKENS"] == "8"
    assert "VOICE_SERVER_MAX_TOKENS_PER_SENTENCE" not in env
    assert "VOICE_SERVER_GPT_CACHE_MIB" not in env


def test_inference_settings_become_server_env_vars() -> None:
    spec = make(
        inference={
            "precision": "bf16",
            "maxBatchSize": 8,
            "maxBatchDelayMs": 25,
            "maxQueue": 99,
            "scheduler": "static",
            "maxTokensPerSentence": 60,
            "gptCacheMiB": 512.5,
            "sovitsMaxBatchSize": 8,
            "firstChunkTokens": 16,
            "cache": {"enabled": False, "maxEntries": 5, "maxBytes": 1024},
        },
        model={
            "gptWeights": "g.ckpt",
            "sovitsWeights": "s.pth",
            "bertDir": "bert",
            "hubertDir": "hubert",
            "g2pwDir": "G2PWModel",
            "jaUserDict": "userdict.csv",
            "source": {"persistentVolumeClaim": {"claimName": "m"}},
        },
    )
    env = env_of(build_deployment(spec, OWNER, IMAGE))
    assert env["VOICE_SERVER_G2PW_MODEL_DIR"] == "G2PWModel"
    assert env["VOICE_SERVER_G2PW_TOKENIZER_DIR"] == "bert"
    assert env["VOICE_SERVER_JA_USER_DICT"] == "userdict.csv"
    assert env["VOICE_SERVER_PRECISION"] == "bf16"
    assert env["VOICE_SERVER_MAX_BATCH_SIZE"] == "8"
    assert env["VOICE_SERVER_MAX_BATCH_DELAY_MS"] == "25.0"
    assert env["VOICE_SERVER_MAX_QUEUE"] == "99"
    assert env["VOICE_SERVER_SCHEDULER"] == "static"
    assert env["VOICE_SERVER_MAX_TOKENS_PER_SENTENCE"] == "60"
    assert env["VOICE_SERVER_GPT_CACHE_MIB"] == "512.5"
    assert env["VOICE_SERVER_SOVITS_MAX_BATCH_SIZE"] == "8"
    assert env["VOICE_SERVER_FIRST_CHUNK_TOKENS"] == "16"
    assert env["VOICE_SERVER_CACHE_ENABLED"] == "false"
    assert env["VOICE_SERVER_CACHE_MAX_ENTRIES"] == "5"
    assert env["VOICE_SERVER_CACHE_MAX_BYTES"] == "1024"
    assert env["VOICE_SERVER_GPT_WEIGHTS"] == "g.ckpt"
    assert env["VOICE_SERVER_SOVITS_WEIGHTS"] == "s.pth"
    assert env["VOICE_SERVER_BERT_DIR"] == "bert"
    assert env["VOICE_SERVER_HUBERT_DIR"] == "hubert"
    assert env["VOICE_SERVER_MODEL_DIR"] == "/models"
    assert env["VOICE_SERVER_SPEAKERS_FILE"] == f"{c.CONFIG_DIR}/{c.SPEAKERS_KEY}"
    assert env["VOICE_SERVER_PORT"] == "8000"
    assert "VOICE_SERVER_API_KEY_FILE" not in env


@pytest.mark.parametrize(
    ("sv_weights", "expected"), [(None, c.DEFAULT_SV_WEIGHTS), ("m/sv.ckpt", "m/sv.ckpt")]
)
def test_pro_models_pass_their_sv_file(sv_weights: str | None, expected: str) -> None:
    model: dict[str, Any] = {
        "version": "v2ProPlus",
        "gptWeights": "g",
        "sovitsWeights": "s",
        "source": {"image": {}},
    }
    if sv_weights is not None:
        model["svWeights"] = sv_weights
    env = env_of(build_deployment(make(model=model), OWNER, IMAGE))
    assert env["VOICE_SERVER_SV_WEIGHTS"] == expected
    assert "VOICE_SERVER_SV_WEIGHTS" not in env_of(build_deployment(make(), OWNER, IMAGE))


def test_env_var_names_exist_in_the_server_settings() -> None:
    """Every variable we set is a ServerSettings field (read from the file, not imported)."""
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "server/voice_server/settings.py").read_text()
    spec = make(auth={"apiKeySecretRef": {"name": "k"}}, model={
        "version": "v2Pro", "gptWeights": "g", "sovitsWeights": "s", "bertDir": "b", "hubertDir": "h",
        "source": {"image": {}},
    })  # fmt: skip
    for name in env_of(build_deployment(spec, OWNER, IMAGE)):
        field = name.removeprefix(c.SERVER_ENV_PREFIX).lower()
        assert f"    {field}:" in source, f"{name} is not a ServerSettings field"


def test_auth_mounts_the_api_key_secret() -> None:
    dep = build_deployment(make(auth={"apiKeySecretRef": {"name": "keys", "key": "token"}}), OWNER, IMAGE)
    env = env_of(dep)
    assert env["VOICE_SERVER_API_KEY_FILE"] == f"{c.API_KEY_DIR}/{c.API_KEY_FILE}"
    volume = next(v for v in pod(dep)["volumes"] if v["name"] == c.VOLUME_API_KEY)
    assert volume["secret"] == {"secretName": "keys", "items": [{"key": "token", "path": c.API_KEY_FILE}]}
    mount = next(m for m in server(dep)["volumeMounts"] if m["name"] == c.VOLUME_API_KEY)
    assert mount["readOnly"] is True
    # A subPath mount is never updated: a rotated Secret reaches the server only without one.
    assert "subPath" not in mount


def test_speakers_configmap_is_mounted() -> None:
    dep = build_deployment(make(), OWNER, IMAGE)
    volume = next(v for v in pod(dep)["volumes"] if v["name"] == c.VOLUME_CONFIG)
    assert volume["configMap"]["name"] == "narrator-config"


def test_scheduling_and_annotations_pass_through() -> None:
    toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}
    spec = make(
        nodeSelector={"gpu": "a100"},
        tolerations=[toleration],
        affinity=affinity,
        podAnnotations={"team": "voice", "prometheus.io/port": "9999"},
        imagePullSecrets=["regcred"],
    )
    dep = build_deployment(spec, OWNER, IMAGE)
    spec_pod = pod(dep)
    assert spec_pod["nodeSelector"] == {"gpu": "a100"}
    assert spec_pod["tolerations"] == [toleration]
    assert spec_pod["affinity"] == affinity
    assert spec_pod["imagePullSecrets"] == [{"name": "regcred"}]
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == "9999"  # the user's value wins
    assert annotations["team"] == "voice"


def test_no_optional_pod_fields_when_unset() -> None:
    spec_pod = pod(build_deployment(make(), OWNER, IMAGE))
    for key in ("nodeSelector", "tolerations", "affinity", "imagePullSecrets", "initContainers"):
        assert key not in spec_pod


# --- model sources ----------------------------------------------------------------------------


def model_volume(dep: dict[str, Any]) -> dict[str, Any] | None:
    return next((v for v in pod(dep)["volumes"] if v["name"] == c.VOLUME_MODEL), None)


def test_pvc_source() -> None:
    spec = with_source({"persistentVolumeClaim": {"claimName": "models", "subPath": "narrator"}})
    dep = build_deployment(spec, OWNER, IMAGE)
    assert model_volume(dep) == {
        "name": c.VOLUME_MODEL,
        "persistentVolumeClaim": {"claimName": "models", "readOnly": True},
    }
    mount = next(m for m in server(dep)["volumeMounts"] if m["name"] == c.VOLUME_MODEL)
    assert mount == {"name": c.VOLUME_MODEL, "mountPath": "/models", "readOnly": True, "subPath": "narrator"}
    assert claims_used(spec.model.source) == ["models"]


def test_host_path_source() -> None:
    dep = build_deployment(with_source({"hostPath": {"path": "/srv/models"}}), OWNER, IMAGE)
    assert model_volume(dep) == {
        "name": c.VOLUME_MODEL,
        "hostPath": {"path": "/srv/models", "type": "Directory"},
    }


def test_image_source_mounts_nothing() -> None:
    spec = with_source({"image": {"path": "/opt/weights"}})
    dep = build_deployment(spec, OWNER, IMAGE)
    assert model_volume(dep) is None
    assert env_of(dep)["VOICE_SERVER_MODEL_DIR"] == "/opt/weights"
    assert claims_used(spec.model.source) == []


@pytest.mark.parametrize("cache", [None, "model-cache"])
def test_http_source_fetches_in_an_init_container(cache: str | None) -> None:
    source: dict[str, Any] = {"url": "https://example.com/voice.tar.gz", "sha256": "ab" * 32}
    if cache:
        source["cacheClaimName"] = cache
    spec = with_source({"http": source})
    dep = build_deployment(spec, OWNER, IMAGE)
    (init,) = pod(dep)["initContainers"]
    assert init["image"] == IMAGE
    assert init["command"][:3] == ["python", "-c", script_text("http_fetch")]
    assert init["command"][3:] == ["https://example.com/voice.tar.gz", "ab" * 32, "/models"]
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": c.VOLUME_MODEL, "mountPath": "/models"} in init["volumeMounts"]
    expected = {"persistentVolumeClaim": {"claimName": cache}} if cache else {"emptyDir": {}}
    assert model_volume(dep) == {"name": c.VOLUME_MODEL, **expected}
    assert claims_used(spec.model.source) == ([cache] if cache else [])


def test_hugging_face_source_with_token() -> None:
    spec = with_source(
        {
            "huggingFace": {
                "repo": "org/voices",
                "revision": "v1",
                "allowMovingRevision": True,
                "files": ["narrator/*"],
                "tokenSecretRef": {"name": "hf"},
            }
        }
    )
    (init,) = pod(build_deployment(spec, OWNER, IMAGE))["initContainers"]
    assert init["command"][:3] == ["python", "-c", script_text("hf_fetch")]
    assert init["command"][3:] == ["org/voices", "v1", "/models", "{}", "narrator/*"]
    env = {e["name"]: e for e in init["env"]}
    assert env["HF_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "hf", "key": "token"}}
    assert env["HF_HUB_OFFLINE"]["value"] == "0"


def test_hugging_face_checksums_reach_the_fetcher() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    digests = {"narrator/s.pth": "b" * 64, "narrator/g.ckpt": "a" * 64}
    spec = with_source(
        {
            "huggingFace": {
                "repo": "org/voices",
                "revision": commit,
                "files": ["narrator/*"],
                "sha256": digests,
            }
        }
    )
    (init,) = pod(build_deployment(spec, OWNER, IMAGE))["initContainers"]
    repo, revision, dest, checksums, *files = init["command"][3:]
    assert (repo, revision, dest, files) == ("org/voices", commit, "/models", ["narrator/*"])
    assert json.loads(checksums) == digests
    assert checksums == json.dumps(dict(sorted(digests.items())), separators=(",", ":"))  # stable text


# --- Service, ConfigMap ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ClusterIP", "NodePort", "LoadBalancer"])
def test_service(kind: str) -> None:
    svc = build_service(make(service={"type": kind, "port": 80}), OWNER)
    assert svc["spec"]["type"] == kind
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert svc["spec"]["selector"] == {c.LABEL_NAME: c.APP_NAME, c.LABEL_INSTANCE: "narrator"}


def test_configmap_renders_the_speakers_file() -> None:
    import yaml

    spec = make(
        speakers=[
            {
                "id": "a",
                "name": "Alice",
                "refAudio": "ref/a.wav",
                "promptText": "你好",
                "promptLanguage": "zh",
            },
            {"id": "b", "refAudio": "ref/b.wav"},
        ]
    )
    cm = build_configmap(spec, OWNER)
    assert cm["metadata"]["name"] == "narrator-config"
    rendered = yaml.safe_load(cm["data"][c.SPEAKERS_KEY])
    assert rendered == [
        {"id": "a", "name": "Alice", "refAudio": "ref/a.wav", "promptText": "你好", "promptLanguage": "zh"},
        {"id": "b", "refAudio": "ref/b.wav", "promptText": "", "promptLanguage": "zh"},
    ]


def test_configmap_without_speakers_is_an_empty_list() -> None:
    import yaml

    assert yaml.safe_load(build_configmap(make(), OWNER)["data"][c.SPEAKERS_KEY]) == []


# --- HPA -------------------------------------------------------------------------------------


def test_no_hpa_when_autoscaling_is_off() -> None:
    assert build_hpa(make(), OWNER) is None


def test_hpa_has_cpu_and_requests_per_second_metrics() -> None:
    spec = make(
        autoscaling={
            "enabled": True,
            "minReplicas": 2,
            "maxReplicas": 8,
            "targetCPUUtilization": 60,
            "targetRequestsPerSecond": 40,
        }
    )
    hpa = build_hpa(spec, OWNER)
    assert hpa is not None
    assert hpa["apiVersion"] == "autoscaling/v2"
    body = hpa["spec"]
    assert body["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "narrator"}
    assert (body["minReplicas"], body["maxReplicas"]) == (2, 8)
    cpu, rps = body["metrics"]
    assert cpu["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}
    assert rps["type"] == "Pods"
    assert rps["pods"]["metric"] == {"name": "gsv_requests_per_second"}
    assert rps["pods"]["target"] == {"type": "AverageValue", "averageValue": "40"}
    assert body["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 300}}


def test_hpa_without_behavior() -> None:
    hpa = build_hpa(make(autoscaling={"enabled": True, "behavior": {}}), OWNER)
    assert hpa is not None
    assert "behavior" not in hpa["spec"]


@pytest.mark.parametrize(("value", "quantity"), [(50, "50"), (12.5, "12500m"), (0.25, "250m")])
def test_requests_per_second_quantity(value: float, quantity: str) -> None:
    assert requests_per_second_quantity(value) == quantity


# --- Ingress ---------------------------------------------------------------------------------


def test_no_ingress_when_disabled() -> None:
    assert build_ingress(make(), OWNER) is None


def test_minimal_ingress() -> None:
    ing = build_ingress(make(ingress={"enabled": True, "host": "tts.example.com"}), OWNER)
    assert ing is not None
    assert "ingressClassName" not in ing["spec"]
    assert "tls" not in ing["spec"]
    assert "annotations" not in ing["metadata"]
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "tts.example.com"
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/"
    assert path["backend"] == {"service": {"name": "narrator", "port": {"name": "http"}}}


def test_full_ingress_with_tls_and_rate_limits() -> None:
    spec = make(
        ingress={
            "enabled": True,
            "host": "tts.example.com",
            "className": "nginx",
            "path": "/voice",
            "tlsSecretName": "tts-tls",
            "rateLimit": {"requestsPerSecond": 10, "burstMultiplier": 3, "connections": 4},
            "annotations": {"nginx.ingress.kubernetes.io/limit-rps": "11", "x": "y"},
        }
    )
    ing = build_ingress(spec, OWNER)
    assert ing is not None
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["tts.example.com"], "secretName": "tts-tls"}]
    assert ing["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/limit-rps": "11",  # explicit annotation wins
        "nginx.ingress.kubernetes.io/limit-burst-multiplier": "3",
        "nginx.ingress.kubernetes.io/limit-connections": "4",
        "x": "y",
    }
    assert service_endpoint(spec, OWNER) == "https://tts.example.com/voice"


def test_endpoints() -> None:
    assert service_endpoint(make(), OWNER) == "http://narrator.voice.svc:8000"
    plain = make(ingress={"enabled": True, "host": "tts.example.com"})
    assert service_endpoint(plain, OWNER) == "http://tts.example.com"


# --- PDB, ServiceMonitor ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"enabled": True}, {"maxUnavailable": 1}),
        ({"enabled": True, "maxUnavailable": "25%"}, {"maxUnavailable": "25%"}),
        ({"enabled": True, "minAvailable": 2}, {"minAvailable": 2}),
    ],
)
def test_pdb(settings: dict[str, Any], expected: dict[str, Any]) -> None:
    pdb = build_pdb(make(podDisruptionBudget=settings), OWNER)
    assert pdb is not None
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {
        "selector": {"matchLabels": {c.LABEL_NAME: c.APP_NAME, c.LABEL_INSTANCE: "narrator"}},
        **expected,
    }


def test_no_pdb_when_disabled() -> None:
    assert build_pdb(make(), OWNER) is None


def test_servicemonitor() -> None:
    assert build_servicemonitor(make(), OWNER) is None
    sm = build_servicemonitor(
        make(monitoring={"enabled": True, "interval": "15s", "labels": {"release": "prom"}}), OWNER
    )
    assert sm is not None
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "prom"
    assert sm["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s"}]
    assert sm["spec"]["namespaceSelector"] == {"matchNames": ["voice"]}


def _namespace_rule(*names: str) -> dict[str, Any]:
    selector = {
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(names)}]
    }
    return {"from": [{"namespaceSelector": selector}], "ports": [{"protocol": "TCP", "port": "http"}]}


def test_networkpolicy_admits_only_the_named_namespaces_on_the_server_port() -> None:
    assert build_networkpolicy(make(), OWNER) is None
    policy = build_networkpolicy(
        make(
            networkPolicy={
                "enabled": True,
                "allowFromNamespaces": ["voice", "gateway", "voice"],
                "allowMetricsFromNamespaces": ["monitoring"],
            }
        ),
        OWNER,
    )
    assert policy is not None
    assert (policy["apiVersion"], policy["kind"]) == ("networking.k8s.io/v1", "NetworkPolicy")
    assert policy["metadata"]["name"] == "narrator"
    assert policy["spec"] == {
        "podSelector": {"matchLabels": {c.LABEL_NAME: c.APP_NAME, c.LABEL_INSTANCE: "narrator"}},
        "policyTypes": ["Ingress"],
        "ingress": [_namespace_rule("gateway", "voice"), _namespace_rule("monitoring")],
    }


def test_networkpolicy_with_empty_lists_admits_nobody_rather_than_everybody() -> None:
    # An ingress rule without "from" would admit every source: empty lists add no rule at all.
    metrics_only = build_networkpolicy(
        make(networkPolicy={"enabled": True, "allowMetricsFromNamespaces": ["monitoring"]}), OWNER
    )
    assert metrics_only is not None
    assert metrics_only["spec"]["ingress"] == [_namespace_rule("monitoring")]
    closed = build_networkpolicy(make(networkPolicy={"enabled": True}), OWNER)
    assert closed is not None
    assert closed["spec"]["ingress"] == []
    assert closed["spec"]["policyTypes"] == ["Ingress"]


def test_builders_are_pure_and_deterministic() -> None:
    spec = make(autoscaling={"enabled": True}, ingress={"enabled": True, "host": "a.example.com"})
    first = build_children(spec, OWNER, default_image=IMAGE, servicemonitor_available=True)
    second = build_children(spec, OWNER, default_image=IMAGE, servicemonitor_available=True)
    assert first == second
