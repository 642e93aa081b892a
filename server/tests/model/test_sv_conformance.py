"""Speaker-verification front end and network vs the v2Pro goldens (resample, fbank, ERes2NetV2).

Sizes come from the fixture set (manifest and golden tensors), never constants.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from gpt_sovits.sv import SpeakerVerifier, load_eres2net
from gpt_sovits.sv.eres2net import ERes2NetV2
from gpt_sovits.sv.fbank import frame_count, kaldi_fbank
from gpt_sovits.sv.resample import sinc_resample

# Tolerances from the v2Pro conformance README.
WAVE_ATOL = 1e-6
FBANK_ATOL = 1e-4
SV = {"atol": 1e-4, "rtol": 1e-4}
CLIPS = ["a", "b"]
STAGES = ["stem", "layer1", "layer2", "layer3", "layer4", "layer3_ds", "fuse34"]


@pytest.fixture(scope="module")
def references(v2pro_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = torch.load(v2pro_dir / "reference_golden.pt")
    return loaded


@pytest.fixture(scope="module")
def sv_golden(v2pro_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = torch.load(v2pro_dir / "sv_golden.pt")
    return loaded


@pytest.fixture(scope="module")
def net(v2pro_dir: Path) -> ERes2NetV2:
    return load_eres2net(v2pro_dir / "sv_tiny.ckpt")


def _max_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    assert actual.shape == expected.shape
    return (actual - expected).abs().max().item()


@pytest.mark.parametrize("clip", CLIPS)
def test_resample_32k_to_16k_matches(
    references: dict[str, Any], v2pro_manifest: dict[str, Any], clip: str
) -> None:
    wave32k = references[f"wave32k_{clip}"]
    assert wave32k.shape[-1] == v2pro_manifest["ref_lengths_32k"][CLIPS.index(clip)]
    params = references["resample_params"]
    wave16k = sinc_resample(wave32k, params["orig_freq"], params["new_freq"])
    assert _max_error(wave16k, references[f"wave16k_{clip}"]) < WAVE_ATOL


@pytest.mark.parametrize("clip", [*CLIPS, "direct"])
def test_fbank_matches(references: dict[str, Any], clip: str) -> None:
    wave16k = references[f"wave16k_{clip}"]
    fbank = kaldi_fbank(wave16k)
    assert fbank.shape[1] == frame_count(wave16k.shape[-1])
    assert fbank.shape[-1] == references["fbank_params"]["num_mel_bins"]
    assert _max_error(fbank, references[f"fbank_{clip}"]) < FBANK_ATOL


def test_fbank_is_per_row_in_a_batch(references: dict[str, Any]) -> None:
    wave = references["wave16k_a"]
    pair = torch.cat([wave, wave.flip(-1)])
    fbank = kaldi_fbank(pair)
    torch.testing.assert_close(fbank[:1], kaldi_fbank(wave))
    torch.testing.assert_close(fbank[1:], kaldi_fbank(wave.flip(-1)))


def test_fbank_refuses_a_wave_shorter_than_a_frame() -> None:
    with pytest.raises(ValueError, match="shorter than one"):
        kaldi_fbank(torch.zeros(1, 100))


def test_sv_sizes_come_from_the_file(
    net: ERes2NetV2, v2pro_manifest: dict[str, Any], sv_golden: dict[str, Any]
) -> None:
    overrides = v2pro_manifest["sv_overrides"]
    cfg = net.config
    assert cfg.m_channels == overrides["m_channels"]
    assert cfg.expansion == overrides["expansion"]
    assert cfg.scale == overrides["scale"]
    assert list(cfg.num_blocks) == overrides["num_blocks"]
    assert cfg.embedding_size == overrides["embedding_size"]
    assert cfg.widths[0] == cfg.m_channels * overrides["baseWidth"] // 64
    assert cfg.embedding_dim == v2pro_manifest["sv_embedding_dim"] == sv_golden["emb_a"].shape[-1]


def test_sv_every_stage_matches(net: ERes2NetV2, references: dict[str, Any], sv_golden: dict) -> None:
    with torch.inference_mode():
        trace = net.trace(references["fbank_b"])
    for stage in STAGES:
        expected = sv_golden[f"b_{stage}"]
        actual = getattr(trace, stage)
        assert actual.shape == expected.shape, stage
        torch.testing.assert_close(actual, expected, **SV, msg=stage)
    # The clipped ReLU really clips in this fixture: the stage is only right if the clip is.
    assert sv_golden["stats"]["layer1"]["frac_clip20"] > 0
    torch.testing.assert_close(trace.embedding, sv_golden["emb_b"], **SV)


@pytest.mark.parametrize("clip", [*CLIPS, "direct"])
def test_sv_embedding_of_the_16k_wave_matches(
    net: ERes2NetV2, references: dict[str, Any], sv_golden: dict, clip: str
) -> None:
    with torch.inference_mode():
        embedding = net(kaldi_fbank(references[f"wave16k_{clip}"]))
    torch.testing.assert_close(embedding, sv_golden[f"emb_{clip}"], **SV)


@pytest.mark.parametrize("clip", CLIPS)
def test_verifier_embeds_the_32k_reference(
    v2pro_dir: Path, references: dict[str, Any], sv_golden: dict, clip: str
) -> None:
    verifier = SpeakerVerifier.load(v2pro_dir / "sv_tiny.ckpt")
    embedding = verifier.embed(references[f"wave32k_{clip}"], references["spec_params"]["sampling_rate"])
    assert embedding.shape == (1, verifier.embedding_dim)
    torch.testing.assert_close(embedding, sv_golden[f"emb_{clip}"], **SV)
