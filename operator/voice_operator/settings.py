"""OperatorSettings: the one source of configuration for ``gpt-sovits-operator``.

Every option is a CLI flag (``--namespaces``) and an environment variable
(``VOICE_OPERATOR_NAMESPACES``); the Helm chart sets the variables.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gsv_common.logs import LogFormat, LogLevel
from gsv_common.settings_cli import document_env_vars

ENV_PREFIX = "VOICE_OPERATOR_"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class OperatorSettings(BaseSettings):
    """Settings of the operator process."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        cli_prog_name="gpt-sovits-operator",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        extra="forbid",
    )

    namespaces: list[str] = Field(
        default_factory=list,
        description="Namespaces to watch (JSON list or comma list); empty watches the whole cluster.",
    )
    default_image: str = Field(
        "gpt-sovits-k8s/server:0.1.0",
        min_length=1,
        description="Server image used when a VoiceService names none.",
    )
    log_level: LogLevel = Field("INFO", description="Lowest log level written.")
    log_format: LogFormat = Field("json", description="json: one JSON object per line; text: for humans.")
    liveness_port: int = Field(8080, ge=1, le=65535, description="Port of the /healthz liveness endpoint.")
    metrics_port: int = Field(9090, ge=0, le=65535, description="Port of /metrics; 0 turns metrics off.")
    peering_name: str = Field(
        "gpt-sovits-operator",
        pattern=_DNS_LABEL,
        description="Peering object shared by operator replicas; only one of them acts at a time.",
    )
    standalone: bool = Field(False, description="Act without peering (a single replica, or tests).")
    peering_priority: int | None = Field(
        None,
        ge=0,
        le=2**31 - 1,
        description="Priority among replicas (the highest acts); unset picks a random one, since "
        "replicas of equal priority all pause.",
    )
    pod_name: str | None = Field(
        None,
        description="This replica's pod name (the chart sets it from the downward API): its peering "
        "identity, so peering never needs a login name for the process's uid.",
    )
    watch_server_timeout_s: int = Field(
        300, ge=10, le=3600, description="Server-side watch timeout (s), so a stalled watch is renewed."
    )
    watch_client_timeout_s: int = Field(
        330, ge=10, le=3600, description="Client-side watch timeout (s); a bit above the server's."
    )
    api_timeout_s: float = Field(
        30.0,
        ge=1,
        le=600,
        description="Deadline of one Kubernetes API request (s), so a dead connection fails.",
    )
    resync_interval_s: float = Field(
        30.0, ge=1, le=3600, description="How often each VoiceService is re-checked for drift and status."
    )
    backoff_max_s: float = Field(
        300.0, ge=1, le=3600, description="Longest wait between retries of a failing reconcile (s)."
    )

    @model_validator(mode="after")
    def _check_timeouts(self) -> OperatorSettings:
        if self.watch_client_timeout_s <= self.watch_server_timeout_s:
            raise ValueError("watch_client_timeout_s must exceed watch_server_timeout_s")
        for namespace in self.namespaces:
            if not namespace or len(namespace) > 63:
                raise ValueError(f"invalid namespace name {namespace!r}")
        return self


document_env_vars(OperatorSettings)
