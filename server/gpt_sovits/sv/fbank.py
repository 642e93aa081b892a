"""Kaldi-compatible log-mel filter bank, the speaker-verification network's input.

Fixed settings of the trained model: 16 kHz, 80 bins, 25 ms Povey-windowed frames every 10 ms
(edges snipped), per-frame DC removal, pre-emphasis 0.97, 512-point power spectrum, mel
triangles from 20 Hz to Nyquist, natural log floored at float32 eps; no dither, no energy, no
mean subtraction. The wave is used as is (floats in [-1, 1], not int16 scale).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

SAMPLE_RATE = 16000
N_MELS = 80
FRAME_LENGTH = 400  # 25 ms
FRAME_SHIFT = 160  # 10 ms
N_FFT = 512  # frame length rounded up to a power of two
LOW_FREQ = 20.0
PREEMPHASIS = 0.97
_POVEY_POWER = 0.85
# The log floor is float32's eps whatever the compute dtype (the reference implementation's rule).
_LOG_FLOOR = torch.finfo(torch.float32).eps


def _mel(freq: float) -> float:
    return 1127.0 * math.log(1.0 + freq / 700.0)


@functools.lru_cache(maxsize=1)
def _mel_banks() -> torch.Tensor:
    """Triangular filters [N_MELS, N_FFT // 2 + 1] on the FFT bin centres (Nyquist column zero)."""
    low, high = _mel(LOW_FREQ), _mel(SAMPLE_RATE / 2)
    delta = (high - low) / (N_MELS + 1)
    index = torch.arange(N_MELS).unsqueeze(1)
    left = low + index * delta
    centre = low + (index + 1.0) * delta
    right = low + (index + 2.0) * delta
    bin_freqs = (SAMPLE_RATE / N_FFT) * torch.arange(N_FFT // 2)
    mel = (1127.0 * (1.0 + bin_freqs / 700.0).log()).unsqueeze(0)
    up = (mel - left) / (centre - left)
    down = (right - mel) / (right - centre)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return F.pad(banks, (0, 1))


@functools.lru_cache(maxsize=1)
def _povey_window() -> torch.Tensor:
    return torch.hann_window(FRAME_LENGTH, periodic=False).pow(_POVEY_POWER)


def frame_count(samples: int) -> int:
    """Frames of a wave of ``samples`` samples (0 when shorter than one frame)."""
    return 0 if samples < FRAME_LENGTH else 1 + (samples - FRAME_LENGTH) // FRAME_SHIFT


def kaldi_fbank(wave: torch.Tensor) -> torch.Tensor:
    """Log-mel filter bank of each row of ``wave`` [B, N] (16 kHz) → [B, frames, 80] in its dtype."""
    if wave.shape[-1] < FRAME_LENGTH:
        raise ValueError(
            f"a wave of {wave.shape[-1]} samples is shorter than one {FRAME_LENGTH}-sample frame"
        )
    frames = wave.unfold(-1, FRAME_LENGTH, FRAME_SHIFT)
    frames = frames - frames.mean(dim=-1, keepdim=True)
    # Pre-emphasis; a frame's first sample is paired with itself.
    previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
    frames = frames - PREEMPHASIS * previous
    frames = frames * _povey_window().to(wave.device, wave.dtype)
    padded = F.pad(frames, (0, N_FFT - FRAME_LENGTH))
    power = torch.fft.rfft(padded).abs().pow(2.0)
    energies: torch.Tensor = power @ _mel_banks().to(wave.device, wave.dtype).T
    return energies.clamp_min(_LOG_FLOOR).log()
