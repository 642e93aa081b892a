"""Multi-reference timbre encoder: content frames attend to the phones, plus the speaker vector."""

from __future__ import annotations

import torch
from torch import nn

from gpt_sovits.sovits.modules.attention import MultiHeadAttention

# Fixed by the architecture, not by the config file.
MRTE_WIDTH = 512
MRTE_HEADS = 4


class MRTE(nn.Module):
    """Cross attention from content (``ssl``) to text, widened to 512 channels and projected back."""

    def __init__(self, channels: int = 192, width: int = MRTE_WIDTH, n_heads: int = MRTE_HEADS) -> None:
        super().__init__()
        self.cross_attention = MultiHeadAttention(width, width, n_heads)
        self.c_pre = nn.Conv1d(channels, width, 1)
        self.text_pre = nn.Conv1d(channels, width, 1)
        self.c_post = nn.Conv1d(width, channels, 1)

    def forward(
        self,
        ssl: torch.Tensor,
        ssl_mask: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        ge: torch.Tensor | None,
    ) -> torch.Tensor:
        """Fuse ``ssl`` [B, 192, Ty] with ``text`` [B, 192, Tx] and speaker ``ge`` [B, 512, 1]."""
        attn_mask = text_mask.unsqueeze(2) * ssl_mask.unsqueeze(-1)
        ssl_enc = self.c_pre(ssl * ssl_mask)
        text_enc = self.text_pre(text * text_mask)
        x = self.cross_attention(ssl_enc * ssl_mask, text_enc * text_mask, attn_mask) + ssl_enc
        if ge is not None:
            x = x + ge
        result: torch.Tensor = self.c_post(x * ssl_mask)
        return result
