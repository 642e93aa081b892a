"""Preallocated key/value cache for the T2S decoder's self-attention."""

from __future__ import annotations

import torch
from torch import Tensor


class KVCache:
    """Keys and values of every layer, allocated once for ``capacity`` positions.

    Layout per layer is ``[rows, heads, capacity, head_dim]`` (what attention reads), so a
    decode step only copies the new token's projections in and attends to a view of the filled
    prefix: no per-step allocation or concatenation.
    """

    def __init__(
        self,
        n_layer: int,
        rows: int,
        heads: int,
        head_dim: int,
        capacity: int,
        *,
        dtype: torch.dtype,
        device: torch.device | str,
    ) -> None:
        """Allocate an empty cache."""
        shape = (n_layer, rows, heads, capacity, head_dim)
        self.keys = torch.empty(shape, dtype=dtype, device=device)
        self.values = torch.empty(shape, dtype=dtype, device=device)
        self.rows = rows
        self.capacity = capacity
        # Positions filled so far (the same for every row: batches are aligned on the right).
        self.length = 0

    def write(self, layer: int, start: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store ``k``/``v`` ([rows, heads, T, head_dim]) at ``start``; return views of ``[0, start+T)``."""
        end = start + k.shape[2]
        if end > self.capacity:
            raise ValueError(f"KV cache overflow: {end} positions > capacity {self.capacity}")
        keys = self.keys[layer, : self.rows]
        values = self.values[layer, : self.rows]
        keys[:, :, start:end].copy_(k)
        values[:, :, start:end].copy_(v)
        return keys[:, :, :end], values[:, :, :end]

    def write_row(self, layer: int, row: int, start: int, k: Tensor, v: Tensor) -> None:
        """Store one row's ``k``/``v`` ([1, heads, T, head_dim]) at ``start`` (per-row prefill)."""
        end = start + k.shape[2]
        if end > self.capacity:
            raise ValueError(f"KV cache overflow: {end} positions > capacity {self.capacity}")
        self.keys[layer, row : row + 1, :, start:end].copy_(k)
        self.values[layer, row : row + 1, :, start:end].copy_(v)

    def zero_row_prefix(self, row: int, end: int) -> None:
        """Zero positions ``[0, end)`` of ``row`` (left padding): masked out, but they must not hold NaN.

        Attention weights of masked positions are exactly 0, and 0 · NaN would still be NaN.
        """
        self.keys[:, row, :, :end].zero_()
        self.values[:, row, :, :end].zero_()

    def advance(self, steps: int) -> None:
        """Mark ``steps`` more positions as filled (after every layer was written)."""
        self.length += steps

    def drop_rows(self, dead: list[int]) -> Tensor:
        """Remove the ``dead`` rows by moving surviving tail rows into their slots.

        Costs one row copy per removed row (not a copy of the whole cache). Returns ``order``
        [new_rows] (long): new row i holds what old row ``order[i]`` held, so per-row state
        elsewhere can follow with ``state[order]``.
        """
        dead_set = set(dead)
        alive = [r for r in range(self.rows) if r not in dead_set]
        n = len(alive)
        holes = [d for d in sorted(dead_set) if d < n]
        movers = [a for a in alive if a >= n]
        order = list(range(n))
        if holes:
            used = self.length
            src = torch.tensor(movers, device=self.keys.device)
            dst = torch.tensor(holes, device=self.keys.device)
            for store in (self.keys, self.values):
                store[:, :, :, :used].index_copy_(1, dst, store[:, :, :, :used].index_select(1, src))
            for hole, mover in zip(holes, movers, strict=True):
                order[hole] = mover
        self.rows = n
        return torch.tensor(order, dtype=torch.long, device=self.keys.device)
