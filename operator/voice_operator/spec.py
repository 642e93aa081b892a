"""VoiceServiceSpec: the typed, defaulted view of a VoiceService's ``spec``.

The CRD schema (crds/voiceservices.yaml) already defaults and validates what the API server
stores; parsing again here gives the builders typed attributes and catches the few things a
structural schema cannot express. Field names are the CRD's camelCase names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from voice_operator import constants as c
from voice_operator.errors import SpecInvalidError

ModelVersion = Literal["v1", "v2", "v2Pro", "v2ProPlus", "v3", "v4"]
Precision = Literal["auto", "fp16", "fp32", "bf16"]
Scheduler = Literal["continuous", "static"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]
ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer"]
Quantity = str
Sha256 = Annotated[str, Field(pattern=r"^[a-f0-9]{64}$")]
# A full Git commit id, as the Hub names a revision that cannot move.
_COMMIT = r"^[0-9a-f]{40}$"
_GLOB_MARKS = ("*", "?", "[")
_DEFAULT_CACHE_BYTES = 256 * 1024 * 1024


def _quantity(value: Any) -> Any:
    """Kubernetes int-or-string quantities are kept as strings ("2", "500m", "8Gi")."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class _Model(BaseModel):
    """Base of every spec part: camelCase names, unknown fields ignored (the schema prunes them)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class SecretKeyRef(_Model):
    """A key of a Secret in the VoiceService's namespace."""

    name: str = Field(min_length=1)
    key: str = Field("api-key", min_length=1)


class TokenSecretRef(SecretKeyRef):
    """A key of a Secret holding an access token."""

    key: str = Field("token", min_length=1)


class PersistentVolumeClaimSource(_Model):
    """Weights on an existing PersistentVolumeClaim."""

    claim_name: str = Field(min_length=1)
    read_only: bool = True
    sub_path: str | None = None


class HostPathSource(_Model):
    """Weights in a folder of the node (single-node clusters, labs)."""

    path: str = Field(min_length=1)
    type: str = "Directory"


class ImageSource(_Model):
    """Weights baked into the server image at ``path``."""

    path: str = Field("/models", min_length=1)


class HttpSource(_Model):
    """One file or .tar/.tar.gz/.tgz archive, fetched and checked by an init container."""

    url: str = Field(pattern=r"^https?://")
    sha256: Sha256
    cache_claim_name: str | None = None


class HuggingFaceSource(_Model):
    """Files of a Hugging Face Hub repository at one commit, fetched by an init container.

    A branch or tag may move under running pods, so ``revision`` must be a commit id unless
    ``allowMovingRevision`` says otherwise; ``sha256`` pins the content of single files. The CRD's
    CEL rule on ``huggingFace`` says the same as :meth:`_pinned` about the revision.
    """

    repo: str = Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]*/[-A-Za-z0-9_.]+$")
    revision: str = Field(min_length=1, max_length=256)
    allow_moving_revision: bool = False
    files: list[str] = Field(min_length=1, max_length=256)
    sha256: dict[str, Sha256] = Field(default_factory=dict, max_length=256)
    token_secret_ref: TokenSecretRef | None = None
    cache_claim_name: str | None = None

    @model_validator(mode="after")
    def _pinned(self) -> HuggingFaceSource:
        if not self.allow_moving_revision and not re.fullmatch(_COMMIT, self.revision):
            raise ValueError(
                "model.source.huggingFace.revision must be a full 40-character commit id (a branch "
                "or tag can move under the pods); set allowMovingRevision: true to accept one anyway"
            )
        for name in self.sha256:
            if any(mark in name for mark in _GLOB_MARKS) or not any(fnmatchcase(name, f) for f in self.files):
                raise ValueError(
                    f"model.source.huggingFace.sha256 lists {name!r}, which is not a file that "
                    "model.source.huggingFace.files fetches"
                )
        return self


class ModelSource(_Model):
    """Where the weights come from: exactly one of the five kinds."""

    persistent_volume_claim: PersistentVolumeClaimSource | None = None
    host_path: HostPathSource | None = None
    image: ImageSource | None = None
    http: HttpSource | None = None
    hugging_face: HuggingFaceSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSource:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "model.source needs exactly one of persistentVolumeClaim, hostPath, image, http, "
                f"huggingFace (got {len(given)})"
            )
        return self

    @property
    def kind(self) -> str:
        """The camelCase name of the source that is set."""
        for name, field in type(self).model_fields.items():
            if getattr(self, name) is not None:
                return field.alias or name
        raise AssertionError("validated to have one source")  # pragma: no cover


class ModelSpec(_Model):
    """The GPT-SoVITS model: version, weight files (relative to the model folder), source.

    v2Pro/v2ProPlus models also read a speaker-verification file (``svWeights``, the official
    path by default); the CRD's CEL rules on ``model`` say the same as :meth:`_speaker_verification`.
    """

    version: ModelVersion = "v2"
    gpt_weights: str = Field(min_length=1)
    sovits_weights: str = Field(min_length=1)
    sv_weights: str | None = Field(None, min_length=1, max_length=1024)
    bert_dir: str | None = None
    hubert_dir: str | None = None
    g2pw_dir: str | None = Field(None, alias="g2pwDir")  # to_camel would say g2PwDir
    ja_user_dict: str | None = None
    source: ModelSource

    @property
    def speaker_verification_file(self) -> str | None:
        """The SV file the server loads: the given or official one for Pro versions, else None."""
        if self.version not in c.PRO_MODEL_VERSIONS:
            return None
        return self.sv_weights or c.DEFAULT_SV_WEIGHTS

    @model_validator(mode="after")
    def _speaker_verification(self) -> ModelSpec:
        if self.sv_weights is not None and self.version not in c.PRO_MODEL_VERSIONS:
            raise ValueError("model.svWeights is only used by v2Pro and v2ProPlus models")
        wanted = self.speaker_verification_file
        hub = self.source.hugging_face
        if wanted is not None and hub is not None and not any(fnmatchcase(wanted, f) for f in hub.files):
            raise ValueError(
                f"a {self.version} model needs its speaker-verification file ({wanted}, model.svWeights) "
                "among model.source.huggingFace.files"
            )
        return self


class Speaker(_Model):
    """One voice: a reference clip and its transcript."""

    id: str = Field(pattern=r"^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$")
    name: str | None = None
    ref_audio: str = Field(min_length=1)
    prompt_text: str = ""
    prompt_language: str = "zh"


class ResourceAmounts(_Model):
    """CPU and memory quantities."""

    cpu: Quantity | None = None
    memory: Quantity | None = None

    _normalise = field_validator("cpu", "memory", mode="before")(_quantity)


class Resources(_Model):
    """GPUs per pod, and CPU/memory requests and limits."""

    gpu: int = Field(1, ge=0, le=16)
    gpu_resource_name: str = "nvidia.com/gpu"
    requests: ResourceAmounts = ResourceAmounts(cpu="1", memory="4Gi")
    limits: ResourceAmounts = ResourceAmounts(memory="16Gi")


class CacheSpec(_Model):
    """The server's audio cache for repeated requests."""

    enabled: bool = True
    max_entries: int = Field(256, ge=0)
    max_bytes: int = Field(_DEFAULT_CACHE_BYTES, ge=0)


class InferenceSpec(_Model):
    """Server inference settings, passed as VOICE_SERVER_* environment variables."""

    precision: Precision = "auto"
    max_batch_size: int = Field(32, ge=1, le=512)
    max_batch_delay_ms: float = Field(10.0, ge=0, le=10_000)
    max_queue: int = Field(256, ge=1, le=1_000_000)
    scheduler: Scheduler = "continuous"
    max_tokens_per_sentence: int | None = Field(None, ge=1, le=1500)
    gpt_cache_mib: float | None = Field(None, gt=0, alias="gptCacheMiB")
    sovits_max_batch_size: int = Field(1, ge=1, le=64)
    first_chunk_tokens: int = Field(8, ge=4, le=1500)
    cache: CacheSpec = CacheSpec()


def _default_behavior() -> dict[str, Any]:
    # GPU pods start slowly (model loading): shrink late so a short dip does not cost a reload.
    return {"scaleDown": {"stabilizationWindowSeconds": 300}}


class AutoscalingSpec(_Model):
    """A HorizontalPodAutoscaler on CPU and on requests per second per pod."""

    enabled: bool = False
    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(4, ge=1)
    target_cpu_utilization: int = Field(70, ge=1, le=100, alias="targetCPUUtilization")
    target_requests_per_second: float = Field(50.0, gt=0)
    requests_per_second_metric: str = "gsv_requests_per_second"
    behavior: dict[str, Any] = Field(default_factory=_default_behavior)

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingSpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError("autoscaling.minReplicas must not exceed autoscaling.maxReplicas")
        return self


class ServiceSpec(_Model):
    """The Service in front of the pods."""

    type: ServiceType = "ClusterIP"
    port: int = Field(8000, ge=1, le=65535)


class RateLimit(_Model):
    """Per-client rate limit enforced by the ingress controller (ingress-nginx annotations)."""

    requests_per_second: int | None = Field(None, ge=1)
    burst_multiplier: int | None = Field(None, ge=1)
    connections: int | None = Field(None, ge=1)


class IngressSpec(_Model):
    """An optional Ingress: host, TLS and rate limits."""

    enabled: bool = False
    class_name: str | None = None
    host: str | None = None
    path: str = "/"
    tls_secret_name: str | None = None
    rate_limit: RateLimit = RateLimit()
    annotations: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _host_when_enabled(self) -> IngressSpec:
        if self.enabled and not self.host:
            raise ValueError("ingress.host is required when ingress.enabled is true")
        return self


class AuthSpec(_Model):
    """Bearer-token auth: the token is read from a Secret."""

    api_key_secret_ref: SecretKeyRef | None = None


class PodDisruptionBudgetSpec(_Model):
    """An optional PodDisruptionBudget; maxUnavailable 1 unless one bound is given."""

    enabled: bool = False
    min_available: int | str | None = None
    max_unavailable: int | str | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> PodDisruptionBudgetSpec:
        if self.min_available is not None and self.max_unavailable is not None:
            raise ValueError("podDisruptionBudget takes minAvailable or maxUnavailable, not both")
        return self


class NetworkPolicySpec(_Model):
    """An optional NetworkPolicy: only the named namespaces reach the server port."""

    enabled: bool = False
    allow_from_namespaces: list[str] = Field(default_factory=list, max_length=64)
    allow_metrics_from_namespaces: list[str] = Field(default_factory=list, max_length=64)


class MonitoringSpec(_Model):
    """A Prometheus Operator ServiceMonitor, created when that CRD exists."""

    enabled: bool = False
    interval: str = "30s"
    labels: dict[str, str] = Field(default_factory=dict)


class ShutdownSpec(_Model):
    """Draining: wait before SIGTERM (endpoints update), then let requests finish."""

    pre_stop_delay_seconds: int = Field(5, ge=0, le=300)
    drain_seconds: int = Field(30, ge=0, le=3600)


class VoiceServiceSpec(_Model):
    """The whole spec of a VoiceService."""

    image: str | None = None
    image_pull_policy: PullPolicy = "IfNotPresent"
    image_pull_secrets: list[str] = Field(default_factory=list)
    replicas: int = Field(1, ge=0)
    model: ModelSpec
    speakers: list[Speaker] = Field(default_factory=list)
    resources: Resources = Resources()
    inference: InferenceSpec = InferenceSpec()
    autoscaling: AutoscalingSpec = AutoscalingSpec()
    service: ServiceSpec = ServiceSpec()
    ingress: IngressSpec = IngressSpec()
    auth: AuthSpec = AuthSpec()
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    affinity: dict[str, Any] = Field(default_factory=dict)
    pod_annotations: dict[str, str] = Field(default_factory=dict)
    pod_disruption_budget: PodDisruptionBudgetSpec = PodDisruptionBudgetSpec()
    monitoring: MonitoringSpec = MonitoringSpec()
    network_policy: NetworkPolicySpec = NetworkPolicySpec()
    shutdown: ShutdownSpec = ShutdownSpec()
    startup_timeout_seconds: int = Field(900, ge=30, le=7200)

    @field_validator("speakers")
    @classmethod
    def _unique_speakers(cls, speakers: list[Speaker]) -> list[Speaker]:
        ids = [speaker.id for speaker in speakers]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"speaker ids must be unique (repeated: {', '.join(duplicates)})")
        return speakers

    @model_validator(mode="after")
    def _precision_needs_gpu(self) -> VoiceServiceSpec:
        if self.inference.precision in ("fp16", "bf16") and self.resources.gpu == 0:
            raise ValueError(f"inference.precision {self.inference.precision} needs resources.gpu >= 1")
        return self


def parse_spec(raw: Mapping[str, Any]) -> VoiceServiceSpec:
    """Parse a stored spec; a spec the operator cannot use raises :class:`SpecInvalidError`."""
    try:
        return VoiceServiceSpec.model_validate(dict(raw))
    except ValidationError as err:
        raise SpecInvalidError(f"invalid VoiceService spec: {_describe(err)}") from None


def _describe(err: ValidationError) -> str:
    """One line per problem, naming the field by its CRD path (``spec.model.source``)."""
    parts = []
    for problem in err.errors():
        path = ".".join(str(p) for p in ("spec", *problem["loc"]))
        parts.append(f"{path}: {problem['msg']}")
    return "; ".join(parts)
