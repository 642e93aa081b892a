"""Preallocated key/value caches for the T2S decoder's self-attention: one for a static batch
(rows aligned on the right, one shared length) and one of slots for rows that join and leave.
"""

from __future__ import annotations

from typing import Protocol

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


class DecodeCache(Protocol):
    """What the decoder's attention needs of a cache: the static :class:`KVCache` or the
    :class:`SlotKVCache` of a continuously batched decode."""

    @property
    def length(self) -> int:
        """Column where the next token of the longest row is written."""
        ...

    def write(self, layer: int, start: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store new keys/values; return views of every row's keys/values up to ``start + T``."""
        ...

    def write_row(self, layer: int, row: int, start: int, k: Tensor, v: Tensor) -> None:
        """Store one row's prefix keys/values (prefill)."""
        ...

    def advance(self, steps: int) -> None:
        """Mark ``steps`` more positions as filled."""
        ...


class SlotKVCache:
    """Keys and values of rows that join and leave a running decode, each at its own length.

    Row ``i`` holds its prefix from column 0 (left-aligned) and ``lengths[i]`` filled positions;
    active rows are always ``0 .. rows-1`` (a finished row's slot is refilled by the last row:
    one row copy, never a copy of the whole cache). Storage grows only when an admitted row needs
    more rows or positions than allocated (rare, never per step); columns past a row's length
    hold finite stale values that attention masks out.
    """

    def __init__(self, n_layer: int, heads: int, head_dim: int, *, dtype: torch.dtype, device: torch.device):
        """An empty cache (no storage until :meth:`reserve`)."""
        self._shape = (n_layer, heads, head_dim)
        self.dtype = dtype
        self.device = device
        self.keys = torch.zeros((n_layer, 0, heads, 0, head_dim), dtype=dtype, device=device)
        self.values = torch.zeros_like(self.keys)
        self.rows = 0
        self.lengths = torch.zeros(0, dtype=torch.long, device=device)
        self._lengths: list[int] = []  # host copy: the widest row sets the attended view

    @property
    def allocated_rows(self) -> int:
        """Rows the storage holds."""
        return self.keys.shape[1]

    @property
    def capacity(self) -> int:
        """Positions per row the storage holds."""
        return self.keys.shape[3]

    @property
    def length(self) -> int:
        """Longest active row's filled positions (its next token goes to this column)."""
        return max(self._lengths, default=0)

    def nbytes(self) -> int:
        """Bytes of key and value storage."""
        return 2 * self.keys.numel() * self.keys.element_size()

    def reserve(self, rows: int, capacity: int) -> None:
        """Reallocate to exactly ``rows`` × ``capacity`` positions, keeping the active rows' contents
        (the caller decides when: storage may also shrink, never below what is in use)."""
        if rows < self.rows or capacity < self.length:
            raise ValueError(
                f"{self.rows} rows of up to {self.length} positions do not fit {rows} × {capacity}"
            )
        n_layer, heads, head_dim = self._shape
        keys = torch.zeros((n_layer, rows, heads, capacity, head_dim), dtype=self.dtype, device=self.device)
        values = torch.zeros_like(keys)
        used = self.length
        keys[:, : self.rows, :, :used].copy_(self.keys[:, : self.rows, :, :used])
        values[:, : self.rows, :, :used].copy_(self.values[:, : self.rows, :, :used])
        self.keys, self.values = keys, values

    def write(self, layer: int, start: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store one new token per active row (``k``/``v`` [rows, heads, 1, head_dim]) at that row's
        own length; return views of columns ``[0, start + 1)`` with ``start`` = :attr:`length`."""
        if k.shape[0] != self.rows or k.shape[2] != 1:
            raise ValueError(
                f"slot cache writes one token for each of {self.rows} rows, got {tuple(k.shape)}"
            )
        end = start + 1
        if end > self.capacity:
            raise ValueError(f"KV cache overflow: {end} positions > capacity {self.capacity}")
        rows = torch.arange(self.rows, device=self.device)
        keys = self.keys[layer, : self.rows]
        values = self.values[layer, : self.rows]
        keys[rows, :, self.lengths] = k[:, :, 0]
        values[rows, :, self.lengths] = v[:, :, 0]
        return keys[:, :, :end], values[:, :, :end]

    def write_row(self, layer: int, row: int, start: int, k: Tensor, v: Tensor) -> None:
        """Store a new row's prefix ([1, heads, T, head_dim]) from column ``start`` of slot ``row``."""
        end = start + k.shape[2]
        if end > self.capacity or row >= self.allocated_rows:
            raise ValueError(f"slot cache overflow: row {row}, {end} positions; reserve() first")
        self.keys[layer, row : row + 1, :, start:end].copy_(k)
        self.values[layer, row : row + 1, :, start:end].copy_(v)

    def join(self, lengths: list[int]) -> None:
        """Activate the rows just prefilled into slots ``rows ..`` with these prefix lengths."""
        self._lengths += lengths
        self.rows += len(lengths)
        self.lengths = torch.tensor(self._lengths, dtype=torch.long, device=self.device)

    def advance(self, steps: int) -> None:
        """Every active row got ``steps`` more positions."""
        self._lengths = [n + steps for n in self._lengths]
        self.lengths += steps

    def key_mask(self) -> Tensor | None:
        """Additive mask [rows, 1, 1, length + 1] hiding each row's columns past its next position;
        None when every row has the same length (nothing to hide)."""
        if len(set(self._lengths)) <= 1:
            return None
        columns = torch.arange(self.length + 1, device=self.device).unsqueeze(0)
        hidden = columns > self.lengths.unsqueeze(1)
        bias = torch.zeros(hidden.shape, dtype=self.dtype, device=self.device).masked_fill(
            hidden, float("-inf")
        )
        return bias[:, None, None, :]

    def remove(self, dead: list[int]) -> Tensor:
        """Free the ``dead`` rows: surviving tail rows move into their slots (one row copy each).

        Returns ``order`` [new_rows]: new row i holds what old row ``order[i]`` held.
        """
        dead_set = set(dead)
        alive = [r for r in range(self.rows) if r not in dead_set]
        n = len(alive)
        holes = [d for d in sorted(dead_set) if d < n]
        movers = [a for a in alive if a >= n]
        order = list(range(n))
        for hole, mover in zip(holes, movers, strict=True):
            used = self._lengths[mover]
            self.keys[:, hole, :, :used].copy_(self.keys[:, mover, :, :used])
            self.values[:, hole, :, :used].copy_(self.values[:, mover, :, :used])
            order[hole] = mover
        self._lengths = [self._lengths[i] for i in order]
        self.rows = n
        self.lengths = torch.tensor(self._lengths, dtype=torch.long, device=self.device)
        return torch.tensor(order, dtype=torch.long, device=self.device)
