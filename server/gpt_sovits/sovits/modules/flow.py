"""Normalising flow (mean-only affine couplings with WaveNet-style conditioners), run in reverse."""

from __future__ import annotations

import torch
from torch import nn

from gpt_sovits.sovits.modules.weight_norm import WNConv1d


class WaveNet(nn.Module):
    """Gated dilated convolution stack conditioned on the speaker vector ``g``."""

    def __init__(self, hidden: int, kernel_size: int, n_layers: int, gin_channels: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.n_layers = n_layers
        self.cond_layer = WNConv1d(gin_channels, 2 * hidden * n_layers, 1)
        self.in_layers = nn.ModuleList(
            WNConv1d(hidden, 2 * hidden, kernel_size, padding=(kernel_size - 1) // 2) for _ in range(n_layers)
        )
        self.res_skip_layers = nn.ModuleList(
            WNConv1d(hidden, 2 * hidden if i < n_layers - 1 else hidden, 1) for i in range(n_layers)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        """``x`` [B, H, T] → skip sum [B, H, T]."""
        cond = self.cond_layer(g) if g is not None else None
        h = self.hidden
        output = torch.zeros_like(x)
        for i, (in_layer, res_skip) in enumerate(zip(self.in_layers, self.res_skip_layers, strict=True)):
            a = in_layer(x)
            if cond is not None:
                a = a + cond[:, 2 * h * i : 2 * h * (i + 1)]
            acts = torch.tanh(a[:, :h]) * torch.sigmoid(a[:, h:])
            rs = res_skip(acts)
            if i < self.n_layers - 1:
                x = (x + rs[:, :h]) * mask
                output = output + rs[:, h:]
            else:
                output = output + rs
        return output * mask


class CouplingLayer(nn.Module):
    """Mean-only coupling: the second half of the channels is shifted by a function of the first."""

    def __init__(
        self, channels: int, hidden: int, kernel_size: int, n_layers: int, gin_channels: int
    ) -> None:
        super().__init__()
        self.half_channels = channels // 2
        self.pre = nn.Conv1d(self.half_channels, hidden, 1)
        self.enc = WaveNet(hidden, kernel_size, n_layers, gin_channels)
        self.post = nn.Conv1d(hidden, self.half_channels, 1)

    def reverse(self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        """Undo the coupling: ``x1 ← (x1 - m(x0)) · mask``."""
        x0, x1 = torch.split(x, [self.half_channels, self.half_channels], dim=1)
        h = self.pre(x0) * mask
        m = self.post(self.enc(h, mask, g)) * mask
        return torch.cat([x0, (x1 - m) * mask], dim=1)


class _Flip(nn.Module):
    """Channel reversal between couplings (no weights; keeps the on-disk indices 0, 2, 4, 6)."""


class ResidualCouplingFlow(nn.Module):
    """``flow``: four couplings interleaved with channel flips."""

    def __init__(
        self,
        channels: int,
        hidden: int,
        gin_channels: int,
        kernel_size: int = 5,
        n_layers: int = 4,
        n_flows: int = 4,
    ) -> None:
        super().__init__()
        #: Frames on each side an output frame depends on (every coupling's WaveNet widens it).
        self.receptive_radius = n_flows * n_layers * ((kernel_size - 1) // 2)
        layers: list[nn.Module] = []
        for _ in range(n_flows):
            layers.append(CouplingLayer(channels, hidden, kernel_size, n_layers, gin_channels))
            layers.append(_Flip())
        self.flows = nn.ModuleList(layers)

    def reverse(self, z: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        """Map a prior sample back to the latent: flows applied last to first."""
        for layer in reversed(self.flows):
            z = layer.reverse(z, mask, g) if isinstance(layer, CouplingLayer) else torch.flip(z, [1])
        return z
