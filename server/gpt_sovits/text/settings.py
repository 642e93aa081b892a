"""Settings of the text frontend (environment variables ``GSV_TEXT_*``)."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    """Per-user temporary folder: jieba's dictionary cache must never land inside the repository."""
    return Path(tempfile.gettempdir()) / "gpt-sovits-text-cache"


class TextSettings(BaseSettings):
    """Where the frontend keeps its caches and finds optional model files."""

    model_config = SettingsConfigDict(env_prefix="GSV_TEXT_")

    cache_dir: Path = _default_cache_dir()
    g2pw_model_dir: Path | None = None


@lru_cache(maxsize=1)
def get_settings() -> TextSettings:
    """The process-wide settings, read once from the environment."""
    return TextSettings()
