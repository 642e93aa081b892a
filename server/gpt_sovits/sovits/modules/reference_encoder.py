"""Reference (style) encoder: a linear spectrogram → one speaker vector ``ge``."""

from __future__ import annotations

import math

import torch
from torch import nn

_HIDDEN = 128
_KERNEL = 5
_HEADS = 2


class _Linear(nn.Module):
    """A Linear layer nested as ``.fc`` (the on-disk key layout)."""

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.fc = nn.Linear(d_in, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the linear map."""
        out: torch.Tensor = self.fc(x)
        return out


class _Conv(nn.Module):
    """A ``same``-padded Conv1d nested as ``.conv``."""

    def __init__(self, d_in: int, d_out: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(d_in, d_out, kernel_size, padding=(kernel_size - 1) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the convolution."""
        out: torch.Tensor = self.conv(x)
        return out


class _GatedConv(nn.Module):
    """Residual gated convolution: ``x + a · sigmoid(b)`` with ``a|b`` from one conv."""

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.channels = channels
        self.conv1 = _Conv(channels, 2 * channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T]`` → ``[B, C, T]``."""
        a, b = torch.split(self.conv1(x), self.channels, dim=1)
        return x + a * torch.sigmoid(b)


class _SelfAttention(nn.Module):
    """Residual multi-head self attention on ``[B, T, C]``; scores scaled by ``sqrt(C)`` (model width)."""

    def __init__(self, channels: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = channels // n_heads
        self.scale = math.sqrt(channels)
        self.w_qs = nn.Linear(channels, channels)
        self.w_ks = nn.Linear(channels, channels)
        self.w_vs = nn.Linear(channels, channels)
        self.fc = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over all frames (the reference is never padded at inference)."""
        b, t, c = x.shape

        def heads(p: torch.Tensor) -> torch.Tensor:
            return p.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.w_qs(x)), heads(self.w_ks(x)), heads(self.w_vs(x))
        probs = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) / self.scale, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, c)
        projected: torch.Tensor = self.fc(out)
        return projected + x


class ReferenceEncoder(nn.Module):
    """``ref_enc``: spectral MLP, gated temporal convs, self attention, projection, temporal mean."""

    def __init__(self, n_bins: int, out_channels: int) -> None:
        super().__init__()
        self.n_bins = n_bins
        # Indices 0 and 3 hold weights; activation/dropout slots in between carry none.
        self.spectral = nn.ModuleList(
            [_Linear(n_bins, _HIDDEN), nn.Mish(), nn.Identity(), _Linear(_HIDDEN, _HIDDEN), nn.Mish()]
        )
        self.temporal = nn.ModuleList([_GatedConv(_HIDDEN, _KERNEL), _GatedConv(_HIDDEN, _KERNEL)])
        self.slf_attn = _SelfAttention(_HIDDEN, _HEADS)
        self.fc = _Linear(_HIDDEN, out_channels)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """``spec`` [B, bins ≥ n_bins, T] → ``ge`` [B, out, 1] (only the lowest ``n_bins`` are read)."""
        x = spec[:, : self.n_bins].transpose(1, 2)
        for layer in self.spectral:
            x = layer(x)
        x = x.transpose(1, 2)
        for block in self.temporal:
            x = block(x)
        x = self.slf_attn(x.transpose(1, 2))
        x = self.fc(x)
        assert isinstance(x, torch.Tensor)
        # Sum then divide by the frame count: the trained model's pooling, step for step.
        return (x.sum(dim=1) / x.shape[1]).unsqueeze(-1)
