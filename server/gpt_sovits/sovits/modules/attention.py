"""Multi-head attention over ``[B, C, T]`` features, with optional windowed relative positions."""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

# Score given to blocked positions (a large negative number rather than -inf, as the trained models use).
_BLOCKED = -1e4


@functools.lru_cache(maxsize=256)
def _band(window: int, length: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Per (query i, offset k) the key index ``i + k - w`` clamped, and whether it is in range.

    Cached per length: every layer of every call with that length shares the same index tensors.
    They are built as ordinary tensors (not inference tensors) so autograd callers may use them too.
    """
    with torch.inference_mode(False):
        offsets = torch.arange(2 * window + 1, device=device) - window
        keys = torch.arange(length, device=device).unsqueeze(1) + offsets.unsqueeze(0)
        valid = (keys >= 0) & (keys < length)
        return keys.clamp(0, length - 1), valid


class MultiHeadAttention(nn.Module):
    """Attention with 1×1 convolution projections; relative key/value tables when ``window`` is set.

    With a window ``w`` the heads share one table of ``2w+1`` learned offsets for keys
    (``emb_rel_k``) and values (``emb_rel_v``); offsets beyond the window contribute nothing.
    """

    def __init__(self, channels: int, out_channels: int, n_heads: int, window: int | None = None) -> None:
        super().__init__()
        if channels % n_heads:
            raise ValueError(f"channels {channels} not divisible by {n_heads} heads")
        self.n_heads = n_heads
        self.head_dim = channels // n_heads
        self.window = window
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, out_channels, 1)
        if window is not None:
            self.emb_rel_k = nn.Parameter(torch.zeros(1, 2 * window + 1, self.head_dim))
            self.emb_rel_v = nn.Parameter(torch.zeros(1, 2 * window + 1, self.head_dim))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T]`` → ``[B, H, T, C/H]``."""
        b, _, t = x.shape
        return x.view(b, self.n_heads, self.head_dim, t).transpose(2, 3)

    def forward(self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Attend from ``x`` [B, C, Tq] to ``context`` [B, C, Tk]; ``mask`` [B, 1, Tq, Tk] (0 = blocked)."""
        q = self._heads(self.conv_q(x))
        k = self._heads(self.conv_k(context))
        v = self._heads(self.conv_v(context))
        q = q / math.sqrt(self.head_dim)
        scores = torch.matmul(q, k.transpose(-2, -1))
        band: tuple[torch.Tensor, torch.Tensor] | None = None
        if self.window is not None:
            length = scores.shape[-1]
            keys, valid = _band(self.window, length, scores.device)
            # Relative-key logits per (query, offset), scattered onto the diagonal band.
            rel = torch.matmul(q, self.emb_rel_k[0].transpose(0, 1)) * valid
            local = torch.zeros_like(scores)
            local.scatter_add_(-1, keys.expand(*scores.shape[:2], -1, -1), rel)
            scores = scores + local
            band = (keys, valid)
        if mask is not None:
            scores = scores.masked_fill(mask == 0, _BLOCKED)
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v)
        if band is not None:
            keys, valid = band
            # Attention weights gathered per offset, then mixed with the relative value table.
            weights = torch.gather(probs, -1, keys.expand(*probs.shape[:2], -1, -1)) * valid
            out = out + torch.matmul(weights, self.emb_rel_v[0])
        b, h, t, d = out.shape
        result: torch.Tensor = self.conv_o(out.transpose(2, 3).reshape(b, h * d, t))
        return result
