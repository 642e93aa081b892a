"""SoVITS conformance: the tiny official checkpoint through the production loader vs golden outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gpt_sovits.sovits import SovitsSynthesizer, load_sovits

# Tolerances from the conformance README.
INTERMEDIATE = {"atol": 1e-4, "rtol": 1e-3}
WAVE_ATOL = 2e-5


@pytest.fixture(scope="module")
def model(conformance_dir: Path) -> SovitsSynthesizer:
    return load_sovits(conformance_dir / "sovits_tiny.pth")


@pytest.fixture(scope="module")
def golden(conformance_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(conformance_dir / "sovits_golden.pt")


@pytest.fixture(scope="module")
def specs(conformance_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(conformance_dir / "spectrogram_golden.pt")


def _refer(golden: dict, specs: dict, key: str) -> torch.Tensor:
    # The golden names its references as "spectrogram_golden.pt:<key>".
    return specs[golden[key].split(":", 1)[1]]


def _assert_wave(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() < WAVE_ATOL


def test_sovits_config_comes_from_the_file(model: SovitsSynthesizer, manifest: dict) -> None:
    cfg = model.config
    assert cfg.version == "v2"
    for key, value in manifest["s2_model_overrides"].items():
        assert getattr(cfg, key) == value, key
    assert cfg.n_symbols == 732
    assert model.sampling_rate == 32000


def test_sovits_decode_intermediates_match(model: SovitsSynthesizer, golden: dict, specs: dict) -> None:
    trace = model.decode_trace(
        golden["codes"], golden["text"], [_refer(golden, specs, "refer")], noise_scale=0.0
    )
    for name in ("ge", "quantized", "enc_p_x", "m_p", "logs_p", "y_mask", "z"):
        actual = getattr(trace, name)
        assert actual.shape == golden[name].shape, name
        torch.testing.assert_close(actual, golden[name], **INTERMEDIATE, msg=name)
    _assert_wave(trace.wav, golden["wav_ns0_speed1"])


@pytest.mark.parametrize("speed", [1.25, 0.8])
def test_sovits_speed_matches(model: SovitsSynthesizer, golden: dict, specs: dict, speed: float) -> None:
    wav = model.decode(
        golden["codes"], golden["text"], [_refer(golden, specs, "refer")], noise_scale=0.0, speed=speed
    )
    _assert_wave(wav, golden[f"wav_ns0_speed{speed}"])


def test_sovits_two_references_average(model: SovitsSynthesizer, golden: dict, specs: dict) -> None:
    refs = [_refer(golden, specs, "refer"), _refer(golden, specs, "refer2")]
    wav = model.decode(golden["codes"], golden["text"], refs, noise_scale=0.0)
    _assert_wave(wav, golden["wav_ns0_two_refs"])


def test_sovits_seeded_noise_matches(model: SovitsSynthesizer, golden: dict, specs: dict) -> None:
    generator = torch.Generator().manual_seed(777)
    wav = model.decode(
        golden["codes"],
        golden["text"],
        [_refer(golden, specs, "refer")],
        noise_scale=0.5,
        generator=generator,
    )
    _assert_wave(wav, golden["wav_ns05_seed777_speed1"])


def test_sovits_cached_speaker_vector_gives_same_wave(
    model: SovitsSynthesizer, golden: dict, specs: dict
) -> None:
    refer = _refer(golden, specs, "refer")
    ge = model.speaker_embedding([refer])
    assert ge is not None
    wav = model.decode(golden["codes"], golden["text"], ge=ge, noise_scale=0.0)
    _assert_wave(wav, golden["wav_ns0_speed1"])


def test_sovits_reference_free_mode_runs_unconditioned(model: SovitsSynthesizer, golden: dict) -> None:
    trace = model.decode_trace(golden["codes"], golden["text"], None, noise_scale=0.0)
    assert trace.ge is None
    assert trace.wav.shape == golden["wav_ns0_speed1"].shape
    assert torch.isfinite(trace.wav).all()
    # Without the speaker vector the output must differ from the conditioned one.
    assert (trace.wav - golden["wav_ns0_speed1"]).abs().max().item() > WAVE_ATOL


@pytest.mark.parametrize("frames", ["60", "75"])
def test_sovits_extract_latent_matches(model: SovitsSynthesizer, conformance_dir: Path, frames: str) -> None:
    golden = torch.load(conformance_dir / "extract_latent_golden.pt")
    hubert = golden[f"hubert_{frames}"]
    with torch.inference_mode():
        projected = model.ssl_proj(hubert)
    torch.testing.assert_close(projected, golden[f"ssl_proj_{frames}"], **INTERMEDIATE)
    codes = model.extract_latent(hubert)
    assert codes.dtype == torch.int64
    assert torch.equal(codes, golden[f"codes_{frames}"])


def test_sovits_runs_without_weight_norm_hooks(model: SovitsSynthesizer) -> None:
    names = [name for name, _ in model.named_parameters()]
    assert not [n for n in names if n.endswith(("weight_g", "weight_v", "original0", "original1"))]
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.training
