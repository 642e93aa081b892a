"""Prior encoder: semantic features and phones → prior mean/log-scale of the latent."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gpt_sovits.sovits.modules.encoder import RelativeEncoder
from gpt_sovits.sovits.modules.mrte import MRTE


class TextEncoder(nn.Module):
    """``enc_p``: content encoder, phone encoder, MRTE fusion, a second encoder and the stats projection."""

    def __init__(
        self,
        out_channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        n_symbols: int,
        ssl_dim: int = 768,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.ssl_proj = nn.Conv1d(ssl_dim, hidden_channels, 1)
        self.encoder_ssl = RelativeEncoder(
            hidden_channels, filter_channels, n_heads, n_layers // 2, kernel_size
        )
        self.encoder_text = RelativeEncoder(hidden_channels, filter_channels, n_heads, n_layers, kernel_size)
        self.text_embedding = nn.Embedding(n_symbols, hidden_channels)
        self.mrte = MRTE(hidden_channels)
        self.encoder2 = RelativeEncoder(hidden_channels, filter_channels, n_heads, n_layers // 2, kernel_size)
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(
        self,
        y: torch.Tensor,
        y_mask: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        ge: torch.Tensor | None,
        speed: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode ``y`` [B, 768, T] and ``text`` ids [B, Tx] → ``(x, m, logs, mask)``.

        With ``speed`` ≠ 1 the fused features are linearly resampled to ``int(T / speed) + 1`` frames.
        """
        y = self.ssl_proj(y * y_mask) * y_mask
        y = self.encoder_ssl(y * y_mask, y_mask)
        t = self.text_embedding(text).transpose(1, 2)
        t = self.encoder_text(t * text_mask, text_mask)
        y = self.mrte(y, y_mask, t, text_mask, ge)
        y = self.encoder2(y * y_mask, y_mask)
        if speed != 1:
            y = F.interpolate(y, size=int(y.shape[-1] / speed) + 1, mode="linear")
            y_mask = F.interpolate(y_mask, size=y.shape[-1], mode="nearest")
        stats = self.proj(y) * y_mask
        m, logs = torch.split(stats, self.out_channels, dim=1)
        return y, m, logs, y_mask
