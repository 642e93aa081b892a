"""Settings of the text frontend (environment variables ``GSV_TEXT_*``)."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    """Per-user temporary folder: jieba's dictionary cache must never land inside the repository."""
    return Path(tempfile.gettempdir()) / "gpt-sovits-text-cache"


class TextSettings(BaseSettings):
    """Where the frontend keeps its caches and finds optional model files."""

    model_config = SettingsConfigDict(env_prefix="GSV_TEXT_")

    cache_dir: Path = _default_cache_dir()
    #: Local G2PW model folder; unset (the default) keeps pypinyin readings.
    g2pw_model_dir: Path | None = None
    #: BERT tokenizer folder for G2PW (the reference uses chinese-roberta-wwm-ext-large's);
    #: unset: the model folder itself, when it holds a vocab.txt / tokenizer.json.
    g2pw_tokenizer_dir: Path | None = None
    #: onnxruntime execution provider of the G2PW session.
    g2pw_provider: str = "CPUExecutionProvider"
    #: onnxruntime intra-op threads of the G2PW session (0: onnxruntime's default).
    g2pw_threads: int = Field(default=0, ge=0)


@lru_cache(maxsize=1)
def get_settings() -> TextSettings:
    """The process-wide settings, read once from the environment."""
    return TextSettings()
