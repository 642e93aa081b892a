"""Windowed-sinc resampling with a Hann window: the resampler the Pro models were trained behind.

The speaker-verification front end sees the 32 kHz reference resampled to 16 kHz by this exact
filter (zero crossings 6, rolloff 0.99, output length ``ceil(N · new / orig)``); the trained
embedding depends on its response, so this is kept apart from the general-purpose resampler in
:mod:`gpt_sovits.audio`.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

ZERO_CROSSINGS = 6
ROLLOFF = 0.99


@functools.lru_cache(maxsize=8)
def _kernel(orig: int, new: int) -> tuple[torch.Tensor, int]:
    """Filter bank [new, 1, taps] (one phase per output sample of a period) and its half-width.

    Built in float64 and rounded once to float32, so every call uses the same taps.
    """
    base = min(orig, new) * ROLLOFF
    width = math.ceil(ZERO_CROSSINGS * orig / base)
    taps = torch.arange(-width, width + orig, dtype=torch.float64)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=torch.float64)[:, None, None] / new + taps
    t = (t * base).clamp(-ZERO_CROSSINGS, ZERO_CROSSINGS)
    window = torch.cos(t * math.pi / ZERO_CROSSINGS / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / t)
    return (sinc * window * (base / orig)).to(torch.float32), width


def sinc_resample(wave: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Resample ``wave`` [..., N] from ``orig_rate`` to ``new_rate`` Hz → [..., ceil(N · new / orig)]."""
    if orig_rate == new_rate:
        return wave
    common = math.gcd(orig_rate, new_rate)
    orig, new = orig_rate // common, new_rate // common
    kernel, width = _kernel(orig, new)
    shape = wave.shape
    flat = wave.reshape(-1, 1, shape[-1])
    padded = F.pad(flat, (width, width + orig))
    out = F.conv1d(padded, kernel.to(wave.device, wave.dtype), stride=orig)
    length = math.ceil(new * shape[-1] / orig)
    return out.transpose(1, 2).reshape(*shape[:-1], -1)[..., :length]
