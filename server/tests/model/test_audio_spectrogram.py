"""Linear spectrogram against the golden, plus the framing arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gpt_sovits.audio import linear_spectrogram


@pytest.mark.parametrize("length", ["32000", "33333"])
def test_audio_spectrogram_matches_golden(conformance_dir: Path, length: str) -> None:
    golden = torch.load(conformance_dir / "spectrogram_golden.pt")
    spec = linear_spectrogram(golden[f"wave_{length}"])
    torch.testing.assert_close(spec, golden[f"spec_{length}"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("samples", [2048, 32000, 33333, 48001])
def test_audio_spectrogram_frame_count(samples: int) -> None:
    spec = linear_spectrogram(torch.zeros(samples))
    assert spec.shape == (1, 1025, (samples + 1408 - 2048) // 640 + 1)
    # Silence gives the floor magnitude sqrt(1e-8), never zero or NaN.
    torch.testing.assert_close(spec, torch.full_like(spec, 1e-4))
