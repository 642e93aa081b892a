"""v2Pro/v2ProPlus SoVITS conformance: the tiny official Pro files through the production loader.

Every golden of ``sovits_v2pro_golden.pt`` / ``sovits_v2proplus_golden.pt`` (speaker conditioning
stage by stage, decode intermediates, waveforms, speed, two references, a swapped speaker-
verification vector, extract_latent). Sizes come from the fixture manifest, never constants.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from gpt_sovits.sovits import SovitsSynthesizer, load_sovits
from gpt_sovits.sovits.modules.mrte import MRTE_WIDTH

# Tolerances from the v2Pro conformance README.
INTERMEDIATE = {"atol": 1e-4, "rtol": 1e-3}
WAVE_ATOL = 2e-5

# (fixture file stem, version, manifest overrides key)
VARIANTS = [("v2pro", "v2Pro", "s2pro_overrides"), ("v2proplus", "v2ProPlus", "s2proplus_overrides")]


@pytest.fixture(scope="module", params=VARIANTS, ids=[v[1] for v in VARIANTS])
def variant(request: pytest.FixtureRequest, v2pro_dir: Path) -> dict[str, Any]:
    stem, version, overrides = request.param
    return {
        "model": load_sovits(v2pro_dir / f"sovits_{stem}_tiny.pth"),
        "golden": torch.load(v2pro_dir / f"sovits_{stem}_golden.pt"),
        "version": version,
        "overrides": overrides,
    }


@pytest.fixture(scope="module")
def references(v2pro_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = torch.load(v2pro_dir / "reference_golden.pt")
    return loaded


def _refer(golden: dict[str, Any], references: dict[str, Any], key: str) -> torch.Tensor:
    # The golden names its references as "reference_golden.pt:<key>".
    spec: torch.Tensor = references[golden[key].split(":", 1)[1]]
    return spec


def _assert_wave(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() < WAVE_ATOL


def _close(actual: torch.Tensor, expected: torch.Tensor, name: str) -> None:
    assert actual.shape == expected.shape, name
    torch.testing.assert_close(actual, expected, **INTERMEDIATE, msg=name)


def test_pro_config_comes_from_the_file(variant: dict[str, Any], v2pro_manifest: dict[str, Any]) -> None:
    model: SovitsSynthesizer = variant["model"]
    cfg = model.config
    assert model.version == variant["version"] == variant["golden"]["version"]
    for key, value in v2pro_manifest[variant["overrides"]].items():
        assert getattr(cfg, key) == value, key
    assert cfg.is_pro
    assert cfg.n_symbols == 732
    assert cfg.sv_dim == variant["golden"]["sv_emb_a"].shape[-1]
    assert model.sampling_rate == 32000


def test_pro_speaker_conditioning_stages_match(variant: dict[str, Any], references: dict[str, Any]) -> None:
    model: SovitsSynthesizer = variant["model"]
    golden = variant["golden"]
    trace = model.speaker_trace([_refer(golden, references, "refer")], [golden["sv_emb_a"]])
    assert trace is not None
    _close(trace.ref_enc[0], golden["ge_ref_enc"], "ge_ref_enc")
    _close(trace.sv_proj[0], golden["sv_proj"], "sv_proj")
    _close(trace.summed[0], golden["ge_plus_sv"], "ge_plus_sv")
    _close(trace.ge, golden["ge"], "ge")
    ge512 = model.mrte_speaker(trace.ge)
    assert ge512 is not None
    assert ge512.shape[1] == MRTE_WIDTH
    _close(ge512, golden["ge512"], "ge512")


def test_pro_decode_intermediates_match(variant: dict[str, Any], references: dict[str, Any]) -> None:
    model: SovitsSynthesizer = variant["model"]
    golden = variant["golden"]
    trace = model.decode_trace(
        golden["codes"],
        golden["text"],
        [_refer(golden, references, "refer")],
        noise_scale=0.0,
        sv=[golden["sv_emb_a"]],
    )
    assert trace.ge is not None
    assert trace.ge_mrte is not None
    _close(trace.ge, golden["ge"], "ge")
    _close(trace.ge_mrte, golden["ge512"], "ge512")
    for name in ("quantized", "enc_p_x", "m_p", "logs_p", "y_mask", "z"):
        _close(getattr(trace, name), golden[name], name)
    _assert_wave(trace.wav, golden["wav_ns0_speed1"])


def test_pro_seeded_noise_matches(variant: dict[str, Any], references: dict[str, Any]) -> None:
    model: SovitsSynthesizer = variant["model"]
    golden = variant["golden"]
    wav = model.decode(
        golden["codes"],
        golden["text"],
        [_refer(golden, references, "refer")],
        noise_scale=0.5,
        generator=torch.Generator().manual_seed(777),
        sv=[golden["sv_emb_a"]],
    )
    _assert_wave(wav, golden["wav_ns05_seed777_speed1"])


def test_pro_speed_matches(variant: dict[str, Any], references: dict[str, Any]) -> None:
    model: SovitsSynthesizer = variant["model"]
    golden = variant["golden"]
    trace = model.decode_trace(
        golden["codes"],
        golden["text"],
        [_refer(golden, references, "refer")],
        noise_scale=0.0,
        speed=1.25,
        sv=[golden["sv_emb_a"]],
    )
    _close(trace.m_p, golden["speed1.25_m_p"], "speed1.25_m_p")
    _close(trace.z, golden["speed1.25_z"], "speed1.25_z")
    _assert_wave(trace.wav, golden["wav_ns0_speed1.25"])


def test_pro_two_references_prelu_before_average(variant: dict[str, Any], references: dict[str, Any]) -> None:
    model: SovitsSynthesizer = variant["model"]
    golden = variant["golden"]
    refs = [_refer(golden, references, "refer"), _refer(golden, references, "refer2")]
    svs = [golden["sv_emb_a"], golden["sv_emb_b"]]
    speaker = model.speaker_trace(refs, svs)
    assert speaker is not None
    _close(torch.stack(speaker.per_reference), golden["two_refs_ge_per_ref"], "two_refs_ge_per_ref")
    _close(speaker.ge, golden["two_refs_ge"], "two_refs_ge")
    ge512 = model.mrte_speaker(speaker.ge)
    assert ge512 is not None
    _close(ge512, golden["two_refs_ge512"], "two_refs_ge512")
    wav = model.decode(golden["codes"], golden["text"], refs, noise_scale=0.0, sv=svs)
    _assert_wave(wav, golden["wav_ns0_two_refs"])


def test_pro_swapped_speaker_verification_vector(variant: dict[str, Any], references: dict[str, Any]) -> None:
    model: SovitsSynthesizer = variant["model"]
    golden = variant["golden"]
    refer = _refer(golden, references, "refer")
    wav = model.decode(golden["codes"], golden["text"], [refer], noise_scale=0.0, sv=[golden["sv_emb_b"]])
    _assert_wave(wav, golden["wav_ns0_refa_svb"])
    # The swap is visible: the embedding really conditions the output.
    assert (wav - golden["wav_ns0_speed1"]).abs().max().item() > WAVE_ATOL


def test_pro_cached_speaker_vector_gives_same_wave(
    variant: dict[str, Any], references: dict[str, Any]
) -> None:
    model: SovitsSynthesizer = variant["model"]
    golden = variant["golden"]
    ge = model.speaker_embedding([_refer(golden, references, "refer")], [golden["sv_emb_a"]])
    wav = model.decode(golden["codes"], golden["text"], ge=ge, noise_scale=0.0)
    _assert_wave(wav, golden["wav_ns0_speed1"])


def test_pro_reference_without_its_embedding_is_refused(
    variant: dict[str, Any], references: dict[str, Any]
) -> None:
    model: SovitsSynthesizer = variant["model"]
    golden = variant["golden"]
    with pytest.raises(ValueError, match=r"needs one speaker-verification embedding per reference"):
        model.decode(golden["codes"], golden["text"], [_refer(golden, references, "refer")])


def test_pro_extract_latent_matches(variant: dict[str, Any]) -> None:
    model: SovitsSynthesizer = variant["model"]
    golden = variant["golden"]
    codes = model.extract_latent(golden["hubert_60"])
    assert codes.dtype == torch.int64
    assert torch.equal(codes, golden["codes_60"])
