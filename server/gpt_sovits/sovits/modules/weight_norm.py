"""Weight-normalised convolutions: stored as ``weight_g``/``weight_v`` on disk, folded at load.

Inference needs only the effective weight ``g · v / ‖v‖``, so these modules are plain convolutions
at run time; the marker classes tell the loader and the writer which layers use the split form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn


class WNConv1d(nn.Conv1d):
    """A Conv1d whose weight is stored weight-normalised (``weight_g``, ``weight_v``) in checkpoints."""


class WNConvTranspose1d(nn.ConvTranspose1d):
    """A ConvTranspose1d stored weight-normalised; the norm runs over dim 0 (its input channels)."""


def weight_normed_prefixes(module: nn.Module) -> list[str]:
    """Dotted names of every weight-normalised layer inside ``module``."""
    return [name for name, sub in module.named_modules() if isinstance(sub, WNConv1d | WNConvTranspose1d)]


def fold(weight_g: torch.Tensor, weight_v: torch.Tensor) -> torch.Tensor:
    """Effective weight ``g · v / ‖v‖`` with the norm over every dim but 0."""
    return torch._weight_norm(weight_v, weight_g, 0)


def split(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``(weight_g, weight_v)`` pair whose fold is ``weight`` (``v = weight``, ``g = ‖weight‖``)."""
    dims = tuple(range(1, weight.dim()))
    norm = torch.linalg.vector_norm(weight, dim=dims, keepdim=True)
    return norm, weight.clone()


def fold_state_dict(weights: Mapping[str, torch.Tensor], prefixes: Iterable[str]) -> dict[str, torch.Tensor]:
    """Replace each ``<prefix>.weight_g``/``.weight_v`` pair by a folded ``<prefix>.weight``.

    Layers whose pair is incomplete are left alone, so the caller's key check reports them.
    """
    out = dict(weights)
    for prefix in prefixes:
        g_key, v_key = f"{prefix}.weight_g", f"{prefix}.weight_v"
        if g_key in out and v_key in out:
            out[f"{prefix}.weight"] = fold(out.pop(g_key), out.pop(v_key))
    return out


def unfold_state_dict(
    weights: Mapping[str, torch.Tensor], prefixes: Iterable[str]
) -> dict[str, torch.Tensor]:
    """Inverse of :func:`fold_state_dict`: split each listed layer's ``weight`` into ``g``/``v``."""
    out = dict(weights)
    for prefix in prefixes:
        g, v = split(out.pop(f"{prefix}.weight"))
        out[f"{prefix}.weight_g"] = g
        out[f"{prefix}.weight_v"] = v
    return out
