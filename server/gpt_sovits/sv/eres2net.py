"""ERes2NetV2 speaker-verification network, the embedding path the Pro SoVITS models are trained on.

Filter bank [B, T, 80] → 2-D residual network over (frequency, time) → the last stage fused with
a downsampled third stage → flattened over (channel, frequency) and averaged over time: one
``m_channels · expansion · 8 · 10``-wide vector per clip (20480 for the released model). Module
names follow the official state dict, so its files load strictly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Residual blocks clip their ReLU at this value.
_CLIP = 20.0
# Attention fusion squeezes its channels by this factor.
_AFF_REDUCTION = 4
# The stages downsample frequency and time by 2 each from the second on: 80 bins → 10.
_FREQ_REDUCTION = 8
N_STAGES = 4


def _clipped_relu(x: torch.Tensor) -> torch.Tensor:
    return F.hardtanh(x, 0.0, _CLIP)


@dataclass(frozen=True)
class ERes2NetConfig:
    """Sizes of one ERes2NetV2 (defaults: the released ``w24 s4`` model)."""

    m_channels: int = 64
    expansion: int = 4
    scale: int = 4
    #: Split width of each stage's blocks (``planes · baseWidth / 64``).
    widths: tuple[int, ...] = (24, 48, 96, 192)
    num_blocks: tuple[int, ...] = (3, 4, 6, 3)
    feat_dim: int = 80
    #: Output of ``seg_1``, stored in the files but unused by the embedding path.
    embedding_size: int = 192

    def planes(self, stage: int) -> int:
        """Bottleneck planes of stage ``stage`` (0-based)."""
        return self.m_channels << stage

    @property
    def out_channels(self) -> int:
        """Channels of the fused last stage."""
        return self.planes(N_STAGES - 1) * self.expansion

    @property
    def embedding_dim(self) -> int:
        """Width of the embedding: channels × remaining frequency bins."""
        return self.out_channels * (self.feat_dim // _FREQ_REDUCTION)


class AFF(nn.Module):
    """Attentional feature fusion of two equally shaped maps: ``x · a + y · (2 − a)``, ``a`` in (0, 2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inter = channels // _AFF_REDUCTION
        self.local_att = nn.Sequential(
            nn.Conv2d(channels * 2, inter, 1),
            nn.BatchNorm2d(inter),
            nn.SiLU(),
            nn.Conv2d(inter, channels, 1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fuse ``x`` and ``y`` [B, C, F, T]."""
        att = 1.0 + torch.tanh(self.local_att(torch.cat((x, y), dim=1)))
        return x * att + y * (2.0 - att)


class Block(nn.Module):
    """Res2Net bottleneck: 1×1 in, ``scale`` chained 3×3 convs on channel chunks, 1×1 out, residual.

    Each chunk's conv takes the previous chunk's output combined with its own input: summed in
    the plain blocks, fused by :class:`AFF` in the ``fused`` ones (the last two stages).
    """

    def __init__(
        self, in_channels: int, planes: int, width: int, scale: int, expansion: int, stride: int, fused: bool
    ) -> None:
        super().__init__()
        self.width = width
        out_channels = planes * expansion
        self.conv1 = nn.Conv2d(in_channels, width * scale, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(width * scale)
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1, bias=False) for _ in range(scale))
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(scale))
        self.fuse_models = nn.ModuleList(AFF(width) for _ in range(scale - 1)) if fused else None
        self.conv3 = nn.Conv2d(width * scale, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, in, F, T] → [B, planes · expansion, F / stride, T / stride] (sizes rounded up)."""
        chunks = torch.split(_clipped_relu(self.bn1(self.conv1(x))), self.width, dim=1)
        outputs: list[torch.Tensor] = []
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
            if i == 0:
                sp = chunks[0]
            elif self.fuse_models is None:
                sp = outputs[-1] + chunks[i]
            else:
                sp = self.fuse_models[i - 1](outputs[-1], chunks[i])
            outputs.append(_clipped_relu(bn(conv(sp))))
        out = self.bn3(self.conv3(torch.cat(outputs, dim=1)))
        return _clipped_relu(out + self.shortcut(x))


@dataclass(frozen=True)
class EmbeddingTrace:
    """Every stage of one embedding (the ``b_*`` goldens), for conformance checks."""

    stem: torch.Tensor
    layer1: torch.Tensor
    layer2: torch.Tensor
    layer3: torch.Tensor
    layer4: torch.Tensor
    layer3_ds: torch.Tensor
    fuse34: torch.Tensor
    embedding: torch.Tensor


class ERes2NetV2(nn.Module):
    """The network; :meth:`forward` maps filter banks [B, T, 80] to embeddings [B, embedding_dim]."""

    def __init__(self, config: ERes2NetConfig) -> None:
        super().__init__()
        self.config = config
        m = config.m_channels
        self.conv1 = nn.Conv2d(1, m, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m)
        in_channels = m
        layers: list[nn.Sequential] = []
        for stage in range(N_STAGES):
            planes = config.planes(stage)
            blocks: list[nn.Module] = []
            for index in range(config.num_blocks[stage]):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(
                    Block(
                        in_channels,
                        planes,
                        config.widths[stage],
                        config.scale,
                        config.expansion,
                        stride,
                        fused=stage >= 2,
                    )
                )
                in_channels = planes * config.expansion
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.layer3_ds = nn.Conv2d(
            config.planes(2) * config.expansion, config.out_channels, 3, stride=2, padding=1, bias=False
        )
        self.fuse34 = AFF(config.out_channels)
        # Stored in every file (statistics pooling → speaker embedding); the SoVITS path skips it.
        self.seg_1 = nn.Linear(config.embedding_dim * 2, config.embedding_size)

    def trace(self, fbank: torch.Tensor) -> EmbeddingTrace:
        """Every stage for filter banks ``fbank`` [B, T, 80]."""
        x = fbank.transpose(1, 2).unsqueeze(1)
        # The stem uses a plain ReLU, unlike the blocks' clipped one.
        stem = F.relu(self.bn1(self.conv1(x)))
        layer1 = self.layer1(stem)
        layer2 = self.layer2(layer1)
        layer3 = self.layer3(layer2)
        layer4 = self.layer4(layer3)
        layer3_ds = self.layer3_ds(layer3)
        fuse34 = self.fuse34(layer4, layer3_ds)
        # Channel-major flatten (index c · bins + f), then the mean over time.
        embedding = fuse34.flatten(1, 2).mean(-1)
        return EmbeddingTrace(stem, layer1, layer2, layer3, layer4, layer3_ds, fuse34, embedding)

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        """Embeddings [B, embedding_dim] of filter banks [B, T, 80]."""
        return self.trace(fbank).embedding
