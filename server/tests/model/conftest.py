"""Shared fixtures for the model tests: where the conformance fixtures live."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic_settings import BaseSettings, SettingsConfigDict

from gpt_sovits.demo import DemoBundle, ensure_demo_bundle
from gpt_sovits.pipeline import Synthesizer
from gpt_sovits.t2s import Text2SemanticDecoder, load_t2s

# The repo root is three levels above this folder (server/tests/model).
_REPO_ROOT = Path(__file__).resolve().parents[3]


class _ConformanceSettings(BaseSettings):
    """Where the shared conformance fixtures are; ``GSV_CONFORMANCE_DIR`` and
    ``GSV_CONFORMANCE_V2PRO_DIR`` override the defaults."""

    model_config = SettingsConfigDict(env_prefix="GSV_")

    conformance_dir: Path = _REPO_ROOT.parent / "shared" / "conformance" / "v2"
    conformance_v2pro_dir: Path = _REPO_ROOT.parent / "shared" / "conformance" / "v2pro"


def _fixture_folder(folder: Path, variable: str, default: str) -> Path:
    if not (folder / "README.md").is_file():
        pytest.fail(
            f"conformance fixtures not found at {folder}: set {variable} or check out {default} "
            "next to the repo",
            pytrace=False,
        )
    return folder


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """The conformance folder (t2s_tiny.ckpt, t2s_golden.pt, ...); fails loudly when absent."""
    return _fixture_folder(
        _ConformanceSettings().conformance_dir, "GSV_CONFORMANCE_DIR", "../shared/conformance/v2"
    )


@pytest.fixture(scope="session")
def manifest(conformance_dir: Path) -> dict[str, Any]:
    """The v2 fixture set's manifest.json: the sizes and seeds it was made with."""
    loaded: dict[str, Any] = json.loads((conformance_dir / "manifest.json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def v2pro_dir() -> Path:
    """The v2Pro/v2ProPlus conformance folder (tiny Pro checkpoints, SV model, goldens)."""
    return _fixture_folder(
        _ConformanceSettings().conformance_v2pro_dir,
        "GSV_CONFORMANCE_V2PRO_DIR",
        "../shared/conformance/v2pro",
    )


@pytest.fixture(scope="session")
def v2pro_manifest(v2pro_dir: Path) -> dict[str, Any]:
    """The v2Pro fixture set's manifest.json (SoVITS and SV overrides, reference lengths)."""
    loaded: dict[str, Any] = json.loads((v2pro_dir / "manifest.json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def tiny(conformance_dir: Path) -> Text2SemanticDecoder:
    """The tiny official-format GPT, through the production loader (sizes from its own config)."""
    return load_t2s(conformance_dir / "t2s_tiny.ckpt")


@pytest.fixture(scope="module")
def golden(conformance_dir: Path) -> dict[str, Any]:
    """The GPT goldens (SoVITS conformance overrides this name with its own goldens)."""
    loaded: dict[str, Any] = torch.load(conformance_dir / "t2s_golden.pt")
    return loaded


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Run model tests on one intra-op thread.

    The test machine's cores are shared; spinning OpenMP workers under contention make tiny ops
    orders of magnitude slower. Numerics stay within every tolerance (1 vs 2 threads differ by
    < 1e-6 on the fixtures).
    """
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def eos_prone(tiny: Text2SemanticDecoder) -> Text2SemanticDecoder:
    """The tiny model with an EOS logit of about 1, so that rows end by EOS at different steps.

    Hidden states leave the last post-norm with roughly that norm's bias as their mean, so an
    EOS row along that bias gives EOS a steady logit near the typical top logits (≈ 1.8).
    """
    model = copy.deepcopy(tiny)
    with torch.no_grad():
        beta = model.h.layers[-1].norm2.bias
        model.ar_predict_layer.weight[model.config.EOS] = beta / beta.dot(beta)
    return model


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> DemoBundle:
    """A demo bundle (random small weights, a reference clip) of the module's own."""
    return ensure_demo_bundle(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def synth(bundle: DemoBundle) -> Synthesizer:
    """The demo bundle's v2 pipeline on the CPU, fp32."""
    return Synthesizer.load(
        bundle.gpt_weights, bundle.sovits_weights, None, bundle.hubert_dir, device="cpu", precision="fp32"
    )
