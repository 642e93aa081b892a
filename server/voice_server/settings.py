"""ServerSettings: the one source of configuration for ``gpt-sovits-server``.

Every option is a CLI flag (``--max-batch-size``) and an environment variable
(``VOICE_SERVER_MAX_BATCH_SIZE``); the operator sets the variables in each pod.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gpt_sovits.text.settings import TextSettings
from gsv_common.logs import LogFormat, LogLevel
from gsv_common.settings_cli import document_env_vars
from voice_server.options import Limits

ENV_PREFIX = "VOICE_SERVER_"
MiB = 1024 * 1024


class ServerSettings(BaseSettings):
    """Settings of the TTS server process."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        cli_prog_name="gpt-sovits-server",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        extra="forbid",
    )

    # --- process -----------------------------------------------------------------------------
    host: str = Field("0.0.0.0", description="Address to listen on.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port to listen on.")
    log_level: LogLevel = Field("INFO", description="Lowest log level written.")
    log_format: LogFormat = Field("json", description="json: one JSON object per line; text: for humans.")
    graceful_shutdown_s: float = Field(
        30.0, ge=0, le=3600, description="Seconds in-flight requests get to finish after SIGTERM."
    )
    torch_threads: int | None = Field(
        None, ge=1, le=512, description="CPU threads for torch; unset lets torch decide."
    )

    # --- model -------------------------------------------------------------------------------
    demo: bool = Field(
        False,
        description="Generate and serve small random demo weights (non-speech audio; no download).",
    )
    demo_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "gpt-sovits-k8s" / "demo",
        description="Where --demo writes (once) and reads its random weights.",
    )
    demo_version: Literal["v2", "v2Pro", "v2ProPlus"] = Field(
        "v2",
        description="Model version of the --demo weights (v2ProPlus: with a speaker-verification model).",
    )
    demo_size: Literal["small", "release"] = Field(
        "small",
        description="Sizes of the --demo weights: small (fast, for tests) or release (GPT and SoVITS "
        "at the official sizes, a few hundred MB written once: the real compute profile).",
    )
    model_dir: Path | None = Field(None, description="Folder holding the weights; relative paths start here.")
    gpt_weights: Path | None = Field(None, description="GPT (text-to-semantic) checkpoint, .ckpt.")
    sovits_weights: Path | None = Field(None, description="SoVITS checkpoint, .pth.")
    bert_dir: Path | None = Field(None, description="Chinese BERT folder (Hugging Face layout).")
    hubert_dir: Path | None = Field(None, description="Chinese HuBERT folder (Hugging Face layout).")
    sv_weights: Path | None = Field(
        None,
        description="Speaker-verification model of v2Pro/v2ProPlus voices (the official SV .ckpt).",
    )
    speakers_file: Path | None = Field(None, description="YAML list of speakers (id, name, refAudio, ...).")
    device: str = Field(
        "auto",
        pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="auto (CUDA when present), cpu, cuda or cuda:N.",
    )
    precision: Literal["auto", "fp32", "fp16", "bf16"] = Field(
        "auto", description="auto: fp16 on GPU, fp32 on CPU. fp16/bf16 need a GPU."
    )
    cuda_graphs: bool = Field(
        False,
        description="Continuous scheduler on CUDA only: replay each GPT decode step as a CUDA graph, "
        "captured once per (rows, KV length) bucket that the running rows are padded to. The static "
        "scheduler, CPUs and any bucket whose capture fails (logged) decode eagerly. Experimental: "
        "not yet run on a GPU.",
    )

    max_tokens_per_sentence: int | None = Field(
        None,
        ge=1,
        le=1500,
        description="Cap on semantic tokens per sentence; unset: from the phone count (demo: 75).",
    )
    warmup: bool = Field(True, description="Synthesise once per speaker before reporting ready.")
    warmup_streams: int = Field(
        0,
        ge=0,
        le=64,
        description="After the per-speaker warm-up, stream this many longer sentences at once "
        "(first speaker) before reporting ready, so that a new pod's first concurrent streams do "
        "not meet batch shapes and chunk windows for the first time (0: off).",
    )

    # --- text frontend -------------------------------------------------------------------------
    text_cache_dir: Path | None = Field(
        None, description="Folder for the text frontend's caches (jieba); unset: a per-user temp folder."
    )
    g2pw_model_dir: Path | None = Field(
        None, description="Local G2PW model folder (G2PWModel_1.1 layout) for Chinese polyphones; unset: off."
    )
    g2pw_tokenizer_dir: Path | None = Field(
        None, description="BERT tokenizer folder for G2PW; unset: the G2PW folder itself."
    )
    g2pw_provider: str = Field("CPUExecutionProvider", description="onnxruntime execution provider of G2PW.")
    g2pw_threads: int = Field(
        0, ge=0, le=512, description="onnxruntime intra-op threads of G2PW (0: its choice)."
    )
    ja_user_dict: Path | None = Field(
        None, description="Japanese user dictionary (OpenJTalk CSV, e.g. userdict.csv); unset: none."
    )

    # --- batching and limits -----------------------------------------------------------------
    max_batch_size: int = Field(32, ge=1, le=512, description="Most requests decoded together.")
    max_batch_delay_ms: float = Field(
        10.0, ge=0, le=10_000, description="Longest wait for batch mates before decoding starts (ms)."
    )
    max_queue: int = Field(256, ge=1, le=1_000_000, description="Queued requests beyond which 429 is sent.")
    scheduler: Literal["continuous", "static"] = Field(
        "continuous",
        description="GPT batching: continuous (sentences join the running decode at every step) or "
        "static (a batch decodes until its last sentence ends).",
    )
    sovits_order: Literal["playback", "arrival"] = Field(
        "playback",
        description="SoVITS queue order: playback (a stream's first audio first, then by when each "
        "listener's audio runs out) or arrival (first come, first served: the baseline).",
    )
    sovits_max_batch_size: int = Field(
        1,
        ge=1,
        le=64,
        description="Most SoVITS items (sentences, stream chunks) decoded together, taken in queue "
        "order without waiting; those of one length share the flow and generator. 1 on CPU, where "
        "the decode is compute-bound already (measured: batching only delays the first item).",
    )
    first_chunk_tokens: int = Field(
        8,
        ge=4,
        le=1500,
        description="Token-chunk streams: ids in a stream's first chunk when the request does not "
        "say (first_chunk_tokens); the shorter of this and the request's chunk_tokens. Shorter sends "
        "the first audio sooner; a value at least chunk_tokens cuts the first chunk like the rest.",
    )
    gpt_cache_mib: float | None = Field(
        None,
        gt=0,
        description="Continuous scheduler: GPT KV-cache memory for the decoding sentences (MiB); more "
        "sentences wait. Unset: only --max-batch-size bounds them.",
    )
    max_prefill_tokens: int = Field(
        4096,
        ge=1,
        le=1_000_000,
        description="Continuous scheduler: most prefix positions prefilled in one step (a single "
        "longer sentence still goes alone), so arrivals do not stall the running sentences for long.",
    )
    request_timeout_s: float = Field(120.0, gt=0, le=3600, description="Per-request deadline (s).")
    max_text_length: int = Field(2000, ge=1, le=1_000_000, description="Longest accepted text (characters).")
    max_body_bytes: int = Field(
        10 * MiB, ge=1024, le=1024 * MiB, description="Largest accepted request body (bytes)."
    )

    max_upload_bytes: int = Field(
        5 * MiB, ge=1024, le=256 * MiB, description="Largest accepted reference clip upload (bytes)."
    )
    drain_delay_s: float = Field(
        2.0,
        ge=0,
        le=600,
        description="After SIGTERM, keep answering 503 this long so load balancers stop routing here.",
    )

    # --- audio cache -------------------------------------------------------------------------
    cache_enabled: bool = Field(True, description="Cache audio of repeated deterministic requests.")
    cache_max_entries: int = Field(256, ge=0, le=10_000_000, description="Most cached results.")
    cache_max_bytes: int = Field(256 * MiB, ge=0, description="Most bytes of cached audio.")

    # --- auth --------------------------------------------------------------------------------
    api_key: SecretStr | None = Field(None, description="Bearer token required on the API routes.")
    api_key_file: Path | None = Field(
        None, description="File holding the bearer token (e.g. a mounted Secret)."
    )

    def text_settings(self) -> TextSettings:
        """The text frontend's settings, from the ``text``/``g2pw``/``ja`` options above."""

        def in_models(path: Path | None) -> Path | None:  # relative paths start in the model folder
            return path if path is None or self.model_dir is None else self.model_dir / path

        values: dict[str, object] = {
            "g2pw_model_dir": in_models(self.g2pw_model_dir),
            "g2pw_tokenizer_dir": in_models(self.g2pw_tokenizer_dir),
            "g2pw_provider": self.g2pw_provider,
            "g2pw_threads": self.g2pw_threads,
            "ja_user_dict": in_models(self.ja_user_dict),
        }
        if self.text_cache_dir is not None:
            values["cache_dir"] = self.text_cache_dir
        return TextSettings.model_validate(values)

    def limits(self) -> Limits:
        """The bounds every request is checked against."""
        return Limits(max_text_length=self.max_text_length)

    @model_validator(mode="after")
    def _check_combinations(self) -> ServerSettings:
        if self.api_key is not None and self.api_key_file is not None:
            raise ValueError("set api_key or api_key_file, not both")
        if not self.demo and (self.gpt_weights is None) != (self.sovits_weights is None):
            raise ValueError("gpt_weights and sovits_weights are given together")
        return self


document_env_vars(ServerSettings)
