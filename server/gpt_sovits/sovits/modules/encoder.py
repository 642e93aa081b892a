"""Post-norm transformer encoder over ``[B, C, T]`` features with relative-position attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gpt_sovits.sovits.modules.attention import MultiHeadAttention

# Relative positions reach this many frames either way.
_WINDOW = 4
_LN_EPS = 1e-5


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of ``[B, C, T]`` (parameters ``gamma``/``beta``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise each frame's channel vector."""
        y = F.layer_norm(x.transpose(1, -1), (self.channels,), self.gamma, self.beta, _LN_EPS)
        return y.transpose(1, -1)


class FeedForward(nn.Module):
    """Two ``same``-padded convolutions with a ReLU between, inputs masked before each."""

    def __init__(self, channels: int, hidden: int, kernel_size: int) -> None:
        super().__init__()
        self.pad = ((kernel_size - 1) // 2, kernel_size // 2)
        self.conv_1 = nn.Conv1d(channels, hidden, kernel_size)
        self.conv_2 = nn.Conv1d(hidden, channels, kernel_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B, C, T]`` → ``[B, C, T]``, zero outside ``mask``."""
        x = torch.relu(self.conv_1(F.pad(x * mask, self.pad)))
        x = self.conv_2(F.pad(x * mask, self.pad))
        return x * mask


class RelativeEncoder(nn.Module):
    """Stack of post-norm blocks: ``x = LN(x + Attn(x))``, ``x = LN(x + FFN(x))``."""

    def __init__(
        self, channels: int, filter_channels: int, n_heads: int, n_layers: int, kernel_size: int
    ) -> None:
        super().__init__()
        self.attn_layers = nn.ModuleList(
            MultiHeadAttention(channels, channels, n_heads, window=_WINDOW) for _ in range(n_layers)
        )
        self.norm_layers_1 = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))
        self.ffn_layers = nn.ModuleList(
            FeedForward(channels, filter_channels, kernel_size) for _ in range(n_layers)
        )
        self.norm_layers_2 = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Encode ``x`` [B, C, T] under ``mask`` [B, 1, T]."""
        attn_mask = mask.unsqueeze(2) * mask.unsqueeze(-1)
        x = x * mask
        for attn, norm1, ffn, norm2 in zip(
            self.attn_layers, self.norm_layers_1, self.ffn_layers, self.norm_layers_2, strict=True
        ):
            x = norm1(x + attn(x, x, attn_mask))
            x = norm2(x + ffn(x, mask))
        return x * mask
