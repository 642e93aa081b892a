"""Residual vector quantizer: semantic codes ↔ 768-dim content features."""

from __future__ import annotations

import torch
from torch import nn


class _Codebook(nn.Module):
    """One level's codebook; only ``embed`` is used at inference (the rest exists on disk only)."""

    embed: torch.Tensor

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("embed", torch.zeros(size, dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest code per row of ``x`` [N, D] by squared Euclidean distance."""
        embed = self.embed.t()
        # -(|x|² - 2x·e + |e|²): the trained model's formula, so near-ties resolve the same way.
        dist = -(x.pow(2).sum(1, keepdim=True) - 2 * x @ embed + embed.pow(2).sum(0, keepdim=True))
        return dist.max(dim=-1).indices

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codebook rows for ``codes`` (any shape) → ``[..., D]``."""
        return nn.functional.embedding(codes, self.embed)


class _Level(nn.Module):
    """Holds ``_codebook`` (nested to mirror the on-disk key names)."""

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self._codebook = _Codebook(size, dim)


class _Levels(nn.Module):
    """Holds ``layers`` (nested to mirror the on-disk key names)."""

    def __init__(self, n_q: int, size: int, dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_Level(size, dim) for _ in range(n_q))


class ResidualVectorQuantizer(nn.Module):
    """``quantizer``: ``n_q`` levels, each quantising the residual of the previous ones."""

    def __init__(self, dim: int = 768, n_q: int = 1, bins: int = 1024) -> None:
        super().__init__()
        self.vq = _Levels(n_q, bins, dim)

    def codebooks(self) -> list[_Codebook]:
        """The per-level codebooks, first level first."""
        books = []
        for level in self.vq.layers:
            assert isinstance(level, _Level)
            books.append(level._codebook)
        return books

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Features [B, D, T] → codes [n_q, B, T]."""
        b, d, t = x.shape
        residual = x.transpose(1, 2).reshape(b * t, d)
        codes = []
        for book in self.codebooks():
            idx = book.encode(residual)
            residual = residual - book.decode(idx)
            codes.append(idx.view(b, t))
        return torch.stack(codes)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [n_q, B, T] → summed codebook features [B, D, T]."""
        out: torch.Tensor | None = None
        for book, level_codes in zip(self.codebooks(), codes, strict=False):
            part = book.decode(level_codes).transpose(1, 2)
            out = part if out is None else out + part
        assert out is not None, "no code levels given"
        return out
