"""Audio file loading, resampling and float → int16 helpers on real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from gpt_sovits.audio import float_to_int16, load_audio, peak_guard, reference_peak_guard, resample
from gpt_sovits.errors import AudioError


def _sine(rate: int, seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_audio_load_resamples_and_averages_channels(tmp_path: Path) -> None:
    mono = _sine(44100, 1.0)
    stereo = np.stack([mono, -mono * 0.0 + mono], axis=1)
    path = tmp_path / "ref.wav"
    soundfile.write(path, stereo, 44100, subtype="FLOAT")
    wave = load_audio(path, 32000)
    assert wave.dtype == np.float32
    assert abs(wave.shape[0] - 32000) <= 1
    # A 440 Hz sine survives resampling: its spectrum peaks at 440 Hz.
    spectrum = np.abs(np.fft.rfft(wave[1000:-1000]))
    peak_hz = np.argmax(spectrum) * 32000 / (wave.shape[0] - 2000)
    assert abs(peak_hz - 440) < 3


def test_audio_resample_same_rate_is_identity() -> None:
    wave = _sine(16000, 0.5)
    assert resample(wave, 16000, 16000) is wave
    assert resample(wave, 16000, 32000).shape[0] == 16000


def test_audio_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError, match=r"nope\.wav: audio file not found"):
        load_audio(path, 16000)


def test_audio_unreadable_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "junk.wav"
    path.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match=r"junk\.wav: not a readable audio file"):
        load_audio(path, 16000)


def test_audio_int16_conversion_clips_full_scale() -> None:
    out = float_to_int16(np.array([0.0, 0.5, -1.0, 1.0, 2.0], dtype=np.float32))
    assert out.dtype == np.int16
    assert out.tolist() == [0, 16384, -32768, 32767, 32767]


def test_audio_peak_guards() -> None:
    loud = torch.tensor([0.5, -2.0])
    torch.testing.assert_close(peak_guard(loud), torch.tensor([0.25, -1.0]))
    quiet = torch.tensor([0.5, -0.9])
    assert peak_guard(quiet) is quiet
    ref = np.array([3.0, -1.5], dtype=np.float32)
    np.testing.assert_allclose(reference_peak_guard(ref), [1.5, -0.75])
    np.testing.assert_allclose(reference_peak_guard(np.array([1.5], dtype=np.float32)), [1.0])
