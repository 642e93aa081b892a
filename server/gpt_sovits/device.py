"""Where the models run: device and floating-point precision, chosen once at load time.

``auto`` picks CUDA when it is present, else the CPU. Half precisions (fp16, bf16) are GPU-only:
on the CPU they are slower than fp32 for these models and drift from the reference outputs, so
asking for them there is an error rather than a silent fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import torch

from gpt_sovits.errors import GptSovitsError

Precision = Literal["auto", "fp32", "fp16", "bf16"]

_DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


class DeviceError(GptSovitsError, ValueError):
    """The requested device or precision is not available on this machine."""


@dataclass(frozen=True)
class Placement:
    """A resolved device and the dtype every model is cast to."""

    device: torch.device
    dtype: torch.dtype

    @property
    def precision(self) -> str:
        """The short name of ``dtype`` (fp32, fp16, bf16)."""
        return next(name for name, dtype in _DTYPES.items() if dtype == self.dtype)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` → a usable device; :class:`DeviceError` otherwise."""
    if not _DEVICE_PATTERN.match(name):
        raise DeviceError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} requested but CUDA is not available on this machine")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
    return device


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``auto`` → fp16 on a GPU, fp32 on the CPU; fp16/bf16 on the CPU is a :class:`DeviceError`."""
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if precision not in _DTYPES:
        raise DeviceError(f"unknown precision {precision!r}: use auto, fp32, fp16 or bf16")
    if precision != "fp32" and device.type != "cuda":
        raise DeviceError(f"precision {precision} needs a CUDA GPU; on {device.type} use fp32 (or auto)")
    return _DTYPES[precision]


def resolve(device: str = "auto", precision: str = "auto") -> Placement:
    """Resolve a device name and a precision name together."""
    target = resolve_device(device)
    return Placement(target, resolve_dtype(precision, target))


def set_torch_threads(threads: int | None) -> int:
    """Set torch's intra-op CPU thread count (None keeps torch's choice); returns the count in effect."""
    if threads is not None:
        if threads < 1:
            raise DeviceError(f"torch thread count must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    return torch.get_num_threads()
