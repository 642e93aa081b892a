"""ClusterSettings: the one source of configuration for the local control plane and its fixtures.

Every option is a CLI flag of ``python -m e2e.cluster`` (``--name``) and an environment variable
(``GSV_E2E_NAME``); the pytest fixtures read the same variables.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gsv_common.logs import LogFormat, LogLevel
from gsv_common.settings_cli import document_env_vars

ENV_PREFIX = "GSV_E2E_"
_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def _default_cache_dir() -> Path:
    """``~/.cache/gpt-sovits-k8s``: shared with the Python environment's cache."""
    return Path.home() / ".cache" / "gpt-sovits-k8s"


class ClusterSettings(BaseSettings):
    """Settings of the local cluster tool and the e2e fixtures."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        cli_prog_name="python -m e2e.cluster",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        extra="ignore",
        populate_by_name=True,
    )

    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        # GSV_CACHE_DIR is the project-wide cache override the Makefile and venv script also honour.
        validation_alias=AliasChoices("cache_dir", "GSV_E2E_CACHE_DIR", "GSV_CACHE_DIR"),
        description="Cache root: binaries, Go caches and cluster state live below it.",
    )
    name: str = Field("default", pattern=_NAME, description="Cluster name; its state is clusters/<name>.")
    state_dir: Path | None = Field(
        None,
        description="State folder (certificates, kubeconfig, logs); default <cache-dir>/clusters/<name>.",
    )
    use_existing: bool = Field(
        False,
        description="Fixtures only: test against the cluster KUBECONFIG names instead of starting one.",
    )
    keep_state: bool = Field(
        False, description="Fixtures only: keep the session cluster's state folder and logs."
    )
    metrics: bool = Field(
        True, description="Start metrics-server and register metrics.k8s.io (needed by HPAs)."
    )
    metrics_pipeline: bool = Field(
        False,
        description="Also run Prometheus and prometheus-adapter (built from Go modules on first use) "
        "with the chart's adapter rules, registered as custom.metrics.k8s.io; Prometheus finds pods "
        "through the apiserver.",
    )
    real_node: bool = Field(
        False,
        description="Also run a real node (kubelet, containerd, kube-proxy) beside the kwok nodes; "
        "Linux and root only, it changes host network state until `down`.",
    )
    node_subnet: str = Field(
        "10.123.0.0/24",
        pattern=r"^\d+\.\d+\.\d+\.0/24$",
        description="Pod subnet of the real node's bridge; its .1 is the node's address.",
    )
    images: list[str] = Field(
        ["gpt-sovits-k8s/operator:0.1.0", "gpt-sovits-k8s/server:0.1.0"],
        description="Images `images` loads into the real node (as `make images` tagged them).",
    )
    start_timeout_s: float = Field(
        120.0, gt=0, le=3600, description="Longest wait for one component to be ready."
    )
    stop_timeout_s: float = Field(
        15.0, gt=0, le=600, description="Grace period before a component is killed."
    )
    go: str = Field("go", min_length=1, description="The Go toolchain used to build the binaries.")
    build_jobs: int = Field(
        2, ge=1, le=64, description="Parallel compile jobs of each Go build (go build -p)."
    )
    log_level: LogLevel = Field("INFO", description="Lowest log level written.")
    log_format: LogFormat = Field("text", description="json: one JSON object per line; text: for humans.")

    @property
    def cluster_dir(self) -> Path:
        """The folder holding this cluster's state."""
        return self.state_dir if self.state_dir is not None else self.cache_dir / "clusters" / self.name

    @property
    def go_dir(self) -> Path:
        """GOMODCACHE and GOCACHE live here so a warm machine recompiles nothing."""
        return self.cache_dir / "go"


document_env_vars(ClusterSettings)
