"""Shared fixtures for the text frontend tests: the conformance golden file."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repo root is three levels above this folder (server/tests/text).
_REPO_ROOT = Path(__file__).resolve().parents[3]
_GOLDEN_NAME = "frontend_golden.json"


class _ConformanceSettings(BaseSettings):
    """Where the shared conformance fixtures are; ``GSV_CONFORMANCE_DIR`` overrides the default."""

    model_config = SettingsConfigDict(env_prefix="GSV_")

    conformance_dir: Path = _REPO_ROOT.parent / "shared" / "conformance" / "v2"


@lru_cache(maxsize=1)
def load_golden() -> dict[str, Any]:
    """The frontend golden file; a missing file is a loud error, never a skip."""
    path = _ConformanceSettings().conformance_dir / _GOLDEN_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: set GSV_CONFORMANCE_DIR or check out ../shared/conformance/v2 "
            "next to the repo"
        )
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize conformance tests over the golden entries (one test id per sentence)."""
    sections = {
        "golden_case": "cases",
        "golden_mixed": "mixed",
        "golden_segments": "lang_segments",
    }
    for fixture, section in sections.items():
        if fixture in metafunc.fixturenames:
            entries = load_golden()[section]
            ids = [
                f"{i}-{entry.get('language', entry.get('request_language', ''))}"
                for i, entry in enumerate(entries)
            ]
            metafunc.parametrize(fixture, entries, ids=ids)
    if "golden_cut" in metafunc.fixturenames:
        cuts = load_golden()["cuts"]
        metafunc.parametrize("golden_cut", sorted(cuts.items()), ids=sorted(cuts))


@pytest.fixture(scope="session")
def golden() -> dict[str, Any]:
    """The whole golden file."""
    return load_golden()
