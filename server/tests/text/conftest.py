"""Shared fixtures for the text frontend tests: the conformance golden files (zh/en and multilang)."""

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
    #: The ja / ko / yue goldens (``GSV_TEXT_CONFORMANCE_DIR``): every ``frontend_golden_*.json``.
    text_conformance_dir: Path = _REPO_ROOT.parent / "shared" / "conformance" / "text-multilang"


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


@lru_cache(maxsize=1)
def load_multilang_goldens() -> tuple[dict[str, Any], ...]:
    """Every multilang golden file of the folder, by name; none found is a loud error, never a skip."""
    folder = _ConformanceSettings().text_conformance_dir
    paths = sorted(folder.glob("frontend_golden_*.json"))
    if not paths:
        raise FileNotFoundError(
            f"no frontend_golden_*.json in {folder}: set GSV_TEXT_CONFORMANCE_DIR or check out "
            "../shared/conformance/text-multilang next to the repo"
        )
    return tuple(json.loads(path.read_text("utf-8")) for path in paths)


def _multilang_entries(section: str) -> tuple[list[Any], list[str]]:
    entries: list[Any] = []
    ids: list[str] = []
    for golden in load_multilang_goldens():
        for i, entry in enumerate(golden[section]):
            if section == "lang_segments":
                # One entry per recorded call: plain, then with each default language.
                for key in sorted(k for k in entry if k.startswith("segments")):
                    default = key.removeprefix("segments").removeprefix("_default_") or None
                    entries.append((entry["text"], default, entry[key]))
                    ids.append(f"{golden['language']}-{i}-{default or 'detect'}")
                continue
            entries.append(entry)
            ids.append(f"{golden['language']}-{i}-{entry.get('language', entry.get('request_language', ''))}")
    return entries, ids


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
    multilang = {
        "ml_case": "cases",
        "ml_segments": "lang_segments",
        "ml_mixed": "mixed",
        "ml_pipeline": "pipeline",
    }
    for fixture, section in multilang.items():
        if fixture in metafunc.fixturenames:
            entries, ids = _multilang_entries(section)
            metafunc.parametrize(fixture, entries, ids=ids)
    if "golden_cut" in metafunc.fixturenames:
        cuts = load_golden()["cuts"]
        metafunc.parametrize("golden_cut", sorted(cuts.items()), ids=sorted(cuts))


@pytest.fixture(scope="session")
def golden() -> dict[str, Any]:
    """The whole golden file."""
    return load_golden()


@pytest.fixture(scope="session")
def multilang_goldens() -> tuple[dict[str, Any], ...]:
    """Every multilang golden file."""
    return load_multilang_goldens()
