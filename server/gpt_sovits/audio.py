"""Audio helpers: linear spectrogram, resampling, file loading and float → int16 conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
import soxr
import torch
import torch.nn.functional as F

from gpt_sovits.errors import AudioError

# Spectrogram parameters of the v1/v2 SoVITS reference encoder (from the model's data config).
SPEC_N_FFT = 2048
SPEC_HOP = 640
SPEC_WIN = 2048
# Added under the square root so silent bins have a finite, non-zero magnitude.
_MAGNITUDE_EPS = 1e-8

# Hann windows keyed by (length, dtype, device): built once, reused by every call.
_WINDOWS: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}


def _hann_window(length: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A periodic Hann window of ``length`` samples, cached per dtype and device."""
    key = (length, dtype, device)
    window = _WINDOWS.get(key)
    if window is None:
        window = torch.hann_window(length, periodic=True, dtype=dtype, device=device)
        _WINDOWS[key] = window
    return window


def linear_spectrogram(
    wave: torch.Tensor, n_fft: int = SPEC_N_FFT, hop: int = SPEC_HOP, win: int = SPEC_WIN
) -> torch.Tensor:
    """Magnitude spectrogram ``[B, n_fft//2+1, frames]`` of a ``[B, N]`` float wave.

    The wave is reflect-padded by ``(n_fft - hop) / 2`` on both sides and framed without centring,
    so ``frames = (N + n_fft - hop - n_fft) // hop + 1``.
    """
    if wave.dim() == 1:
        wave = wave.unsqueeze(0)
    pad = (n_fft - hop) // 2
    padded = F.pad(wave.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    stft = torch.stft(
        padded,
        n_fft,
        hop_length=hop,
        win_length=win,
        window=_hann_window(win, wave.dtype, wave.device),
        center=False,
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    parts = torch.view_as_real(stft)
    return torch.sqrt(parts.pow(2).sum(-1) + _MAGNITUDE_EPS)


def resample(wave: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Resample a mono float wave with soxr (high quality); a no-op when the rates are equal."""
    if source_rate == target_rate:
        return wave
    return np.asarray(soxr.resample(wave, source_rate, target_rate, quality="HQ"), dtype=np.float32)


def load_audio(path: Path, target_rate: int) -> np.ndarray:
    """Read an audio file as mono float32 at ``target_rate`` (channels averaged).

    Raises :class:`AudioError` naming the file when it is missing, unreadable or empty.
    """
    mono, rate = read_audio(path)
    return resample(mono, rate, target_rate)


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 at its own rate; returns ``(wave, rate)``.

    Raises :class:`AudioError` naming the file when it is missing, unreadable or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc})") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{path}: audio file holds no samples")
    return data.mean(axis=1).astype(np.float32), int(rate)


def peak_guard(wave: torch.Tensor, limit: float = 1.0) -> torch.Tensor:
    """Divide ``wave`` by its peak when the peak exceeds ``limit`` (returns the input otherwise)."""
    peak = float(wave.abs().max()) if wave.numel() else 0.0
    if peak > limit:
        return wave / peak
    return wave


def reference_peak_guard(wave: np.ndarray) -> np.ndarray:
    """Scale a reference wave whose peak exceeds 1 down by ``min(2, peak)`` (the spectrogram input rule)."""
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak > 1.0:
        return (wave / min(2.0, peak)).astype(np.float32)
    return wave


def float_to_int16(wave: np.ndarray) -> np.ndarray:
    """Convert a float wave in [-1, 1] to int16, clipping so a full-scale 1.0 cannot wrap around."""
    scaled = np.clip(np.asarray(wave, dtype=np.float32) * 32768.0, -32768.0, 32767.0)
    out: np.ndarray = scaled.astype(np.int16)
    return out
