"""Reference audio files through the SoVITS side: spectrogram, speaker vector and prompt codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from gpt_sovits.audio import linear_spectrogram, load_audio, reference_peak_guard
from gpt_sovits.errors import AudioError
from gpt_sovits.sovits import SovitsConfig, SovitsSynthesizer, load_sovits
from gpt_sovits.ssl import (
    PROMPT_TAIL_SAMPLES,
    SSL_SAMPLE_RATE,
    SslFeatureExtractor,
    prompt_wave,
    write_random_hubert,
)


@pytest.fixture(scope="module")
def model(conformance_dir: Path) -> SovitsSynthesizer:
    return load_sovits(conformance_dir / "sovits_tiny.pth")


@pytest.fixture(scope="module")
def ssl(tmp_path_factory: pytest.TempPathFactory) -> SslFeatureExtractor:
    return SslFeatureExtractor.from_folder(write_random_hubert(tmp_path_factory.mktemp("hubert")))


def _wav(path: Path, seconds: float, rate: int = 24000) -> Path:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.shape)
    soundfile.write(path, wave.astype(np.float32), rate, subtype="PCM_16")
    return path


def test_sovits_reference_from_file(
    tmp_path: Path, model: SovitsSynthesizer, ssl: SslFeatureExtractor, manifest: dict
) -> None:
    ref = _wav(tmp_path / "ref.wav", 4.0)
    # Speaker vector: 32 kHz spectrogram of the file → ge.
    spec = linear_spectrogram(torch.from_numpy(reference_peak_guard(load_audio(ref, 32000))))
    assert spec.shape == (1, 1025, (128000 + 1408 - 2048) // 640 + 1)
    ge = model.speaker_embedding([spec])
    assert ge is not None
    gin = manifest["s2_model_overrides"].get("gin_channels", SovitsConfig().gin_channels)
    assert ge.shape == (1, gin, 1)
    # Prompt codes: 16 kHz wave + silent tail → HuBERT (50 Hz) → ssl_proj + codebook (25 Hz).
    wave16k = prompt_wave(load_audio(ref, SSL_SAMPLE_RATE))
    assert wave16k.shape == (64000 + PROMPT_TAIL_SAMPLES,)
    features = ssl(wave16k)
    assert features.shape[:2] == (1, 768)
    codes = model.extract_latent(features)[0, 0]
    assert codes.shape == (features.shape[-1] // 2,)
    assert codes.dtype == torch.int64
    assert int(codes.max()) < 1024
    wav = model.decode(codes.view(1, 1, -1), torch.tensor([[5, 9, 12, 40]]), ge=ge, noise_scale=0.0)
    assert wav.shape == (1, 1, codes.numel() * 2 * 640)
    assert torch.isfinite(wav).all()


def test_sovits_reference_too_short_for_prompt(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="3 to 10 seconds"):
        prompt_wave(load_audio(_wav(tmp_path / "short.wav", 1.5), SSL_SAMPLE_RATE))


def test_sovits_package_never_imports_fastapi() -> None:
    code = (
        "import sys, gpt_sovits.sovits, gpt_sovits.sovits.demo, "
        "gpt_sovits.audio, gpt_sovits.ssl; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'uvicorn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_sovits_fp16_on_gpu_tracks_fp32(conformance_dir: Path) -> None:
    golden = torch.load(conformance_dir / "sovits_golden.pt")
    specs = torch.load(conformance_dir / "spectrogram_golden.pt")
    model = load_sovits(conformance_dir / "sovits_tiny.pth", device="cuda", dtype=torch.float16)
    wav = model.decode(
        golden["codes"].cuda(), golden["text"].cuda(), [specs["spec_33333"].cuda()], noise_scale=0.0
    )
    expected = golden["wav_ns0_speed1"]
    assert (wav.float().cpu() - expected).abs().max() / expected.abs().max() < 5e-2
