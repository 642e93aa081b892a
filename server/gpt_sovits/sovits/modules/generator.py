"""HiFi-GAN style generator: 50 Hz latent → waveform, upsampled by the product of the rates."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gpt_sovits.sovits.modules.weight_norm import WNConv1d, WNConvTranspose1d

_SLOPE = 0.1


class ResBlock(nn.Module):
    """Three residual pairs: dilated conv then undilated conv, each after a leaky ReLU."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            WNConv1d(channels, channels, kernel_size, dilation=d, padding=d * (kernel_size - 1) // 2)
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            WNConv1d(channels, channels, kernel_size, padding=(kernel_size - 1) // 2) for _ in dilations
        )

    def forward(self, x: torch.Tensor, activated: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, C, T]`` → ``[B, C, T]``; ``activated`` may carry ``leaky_relu(x)`` already computed.

        Also takes ``[B, C, 1, T]`` channels-last tensors (see ``to_rows``), and then returns one.
        """
        for i, (c1, c2) in enumerate(zip(self.convs1, self.convs2, strict=True)):
            a = activated if i == 0 and activated is not None else F.leaky_relu(x, _SLOPE)
            xt = _conv(c2, F.leaky_relu(_conv(c1, a), _SLOPE, inplace=True))
            # In place: the conv output is ours, and skipping the allocation matters at 32 kHz.
            x = xt.add_(x)
        return x


def to_rows(x: torch.Tensor) -> torch.Tensor:
    """``[B, C, T]`` → ``[B, C, 1, T]`` in channels-last layout (time-major, channels innermost).

    oneDNN convolves that layout natively; the plain ``[B, C, T]`` layout is reordered to its
    blocked format and back around every convolution, which at 32 kHz costs as much as a
    cheap convolution. The ResBlocks run in this layout, ``from_rows`` goes back.
    """
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def from_rows(x: torch.Tensor) -> torch.Tensor:
    """Inverse of ``to_rows``: a contiguous ``[B, C, T]``."""
    return x.squeeze(2).contiguous()


def _conv(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``conv`` applied to ``[B, C, T]``, or to ``[B, C, 1, T]`` as the equivalent 2-D convolution."""
    assert isinstance(conv, nn.Conv1d)
    if x.dim() == 3:
        return conv(x)  # type: ignore[no-any-return]
    weight = conv.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    padding = conv.padding[0]
    assert isinstance(padding, int)
    return F.conv2d(x, weight, conv.bias, padding=(0, padding), dilation=(1, conv.dilation[0]))


class Generator(nn.Module):
    """``dec``: conv_pre + speaker conditioning, upsample stages each followed by averaged ResBlocks."""

    def __init__(
        self,
        in_channels: int,
        resblock_kernel_sizes: tuple[int, ...],
        resblock_dilation_sizes: tuple[tuple[int, ...], ...],
        upsample_rates: tuple[int, ...],
        upsample_initial_channel: int,
        upsample_kernel_sizes: tuple[int, ...],
        gin_channels: int,
    ) -> None:
        super().__init__()
        self.n_kernels = len(resblock_kernel_sizes)
        self.conv_pre = nn.Conv1d(in_channels, upsample_initial_channel, 7, padding=3)
        self.ups = nn.ModuleList(
            WNConvTranspose1d(
                upsample_initial_channel // 2**i,
                upsample_initial_channel // 2 ** (i + 1),
                k,
                u,
                padding=(k - u) // 2,
            )
            for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes, strict=True))
        )
        self.resblocks = nn.ModuleList(
            ResBlock(upsample_initial_channel // 2 ** (i + 1), k, d)
            for i in range(len(upsample_rates))
            for k, d in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True)
        )
        last = upsample_initial_channel // 2 ** len(upsample_rates)
        self.conv_post = nn.Conv1d(last, 1, 7, padding=3, bias=False)
        self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)

    def forward(self, x: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        """``x`` [B, inter, T] → wave [B, 1, T · prod(upsample_rates)] in (-1, 1)."""
        x = self.conv_pre(x)
        if g is not None:
            x = x + self.cond(g)
        for i, up in enumerate(self.ups):
            x = to_rows(up(F.leaky_relu(x, _SLOPE, inplace=True)))
            # Every ResBlock of the stage starts from the same activation: compute it once.
            activated = F.leaky_relu(x, _SLOPE)
            acc: torch.Tensor | None = None
            for block in self.resblocks[i * self.n_kernels : (i + 1) * self.n_kernels]:
                out = block(x, activated)
                acc = out if acc is None else acc.add_(out)
            assert acc is not None
            x = from_rows(acc.div_(self.n_kernels))
        # The final activation uses torch's default slope (0.01), unlike the inner ones.
        x = self.conv_post(F.leaky_relu(x, inplace=True))
        return torch.tanh_(x)
