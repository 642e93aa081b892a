"""Names shared by the CRD, the builders, the status and the handlers: one place, no drift."""

from __future__ import annotations

from typing import Final

GROUP: Final = "voice.gpt-sovits.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "VoiceService"
PLURAL: Final = "voiceservices"

# Server-side apply owner of every field the operator writes; never changes between releases,
# otherwise the API server would see two managers fighting over the same fields.
FIELD_MANAGER: Final = "gpt-sovits-operator"
# Holds the Deployment's replica count while autoscaling takes it over (see build_replicas_handover).
REPLICAS_HANDOVER_MANAGER: Final = "gpt-sovits-operator-replicas-handover"

# Recommended Kubernetes labels; NAME + INSTANCE form the (immutable) pod selector.
APP_NAME: Final = "gpt-sovits"
LABEL_NAME: Final = "app.kubernetes.io/name"
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_PART_OF: Final = "app.kubernetes.io/part-of"
COMPONENT: Final = "tts-server"
MANAGED_BY: Final = "gpt-sovits-operator"

# The server (see server/voice_server/settings.py: ServerSettings, prefix VOICE_SERVER_).
SERVER_ENV_PREFIX: Final = "VOICE_SERVER_"
SERVER_PORT: Final = 8000
SERVER_PORT_NAME: Final = "http"
SERVER_CONTAINER: Final = "server"
# The init container that downloads and checks the weights (http and huggingFace sources).
FETCH_CONTAINER: Final = "fetch-model"
# The server's probes: /startup passes once start-up is over (model loaded and warm, or failed),
# /health fails when the process cannot serve, /ready passes when it takes requests.
STARTUP_PATH: Final = "/startup"
LIVENESS_PATH: Final = "/health"
READINESS_PATH: Final = "/ready"
METRICS_PATH: Final = "/metrics"
SERVER_USER_ID: Final = 65532  # the image's non-root user (distroless "nonroot")

# Where things are mounted inside the pod.
MODEL_DIR: Final = "/models"
CONFIG_DIR: Final = "/etc/gpt-sovits"
SPEAKERS_KEY: Final = "speakers.yaml"
API_KEY_DIR: Final = "/var/run/secrets/gpt-sovits"
API_KEY_FILE: Final = "api-key"
TMP_DIR: Final = "/tmp"

# Volume names.
VOLUME_MODEL: Final = "model"
VOLUME_CONFIG: Final = "config"
VOLUME_API_KEY: Final = "api-key"
VOLUME_TMP: Final = "tmp"

# Condition types and the phase shown by `kubectl get`.
COND_READY: Final = "Ready"
COND_PROGRESSING: Final = "Progressing"
COND_DEGRADED: Final = "Degraded"
# Only while autoscaling is on: whether the HPA can scale and reads its metrics.
COND_AUTOSCALING_ACTIVE: Final = "AutoscalingActive"
PHASE_PENDING: Final = "Pending"
PHASE_PROGRESSING: Final = "Progressing"
PHASE_READY: Final = "Ready"
PHASE_DEGRADED: Final = "Degraded"

# The server implements this model version; others are accepted by the schema (they are real
# GPT-SoVITS versions) but reported as Degraded until the server supports them.
SUPPORTED_MODEL_VERSIONS: Final = frozenset({"v2", "v2Pro", "v2ProPlus"})
# Versions whose SoVITS model needs the speaker-verification file, and that file's official path
# in the model folder (as the official pretrained-model repository lays it out).
PRO_MODEL_VERSIONS: Final = frozenset({"v2Pro", "v2ProPlus"})
DEFAULT_SV_WEIGHTS: Final = "sv/pretrained_eres2netv2w24s4ep4.ckpt"

# ServiceMonitor is only created when the Prometheus Operator's CRD is installed.
SERVICEMONITOR_API_VERSION: Final = "monitoring.coreos.com/v1"
