"""Linear layers on CPU with weights prepacked once for oneDNN (inference only).

``F.linear`` on CPU repacks its weight on every call; for the decoder's small batches (a few
dozen rows against 0.3 GB of weights per step) that repacking costs about as much as the
multiply. A copy packed once in oneDNN's blocked layout runs fp32 matmuls of 4 or more rows
15–60 % faster (measured on AVX-512). Single rows stay on ``F.linear``, whose matrix-vector
kernel is faster there. The packed copy doubles the memory of the weights it covers.

oneDNN compiles and caches one primitive (about 0.6 MiB of native memory) per row count it
meets. The packed prefill's row count is the sum of its batch's prefix lengths, which takes a new
value with nearly every new mix of concurrent requests, so a server's memory grew with its
traffic (about 20–60 KB per request after thousands of requests). Rows are therefore padded up to
one of a few sizes (:func:`bucket_rows`): at most 1/8 more rows, and a bounded set of primitives
for any traffic.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

# Below this many rows the plain matrix-vector path is faster than the packed one.
MIN_PACKED_ROWS = 4
# Row-count hint for the packing (the decode batch the layout is tuned for; any count works).
PACKING_ROWS_HINT = 32
# Row-count sizes per doubling that the packed path runs at (see the module docstring).
ROW_BUCKETS_PER_DOUBLING = 8


def _available() -> bool:
    mkldnn = getattr(torch.ops, "mkldnn", None)
    return (
        torch.backends.mkldnn.is_available()
        and mkldnn is not None
        and hasattr(mkldnn, "_reorder_linear_weight")
        and hasattr(mkldnn, "_linear_pointwise")
    )


AVAILABLE = _available()


class PackedWeight:
    """The prepacked copy of one weight matrix, rebuilt when the weight changes.

    The copy is keyed on the weight's storage, in-place version, dtype and device, so loading a
    state dict, editing the weight in place or moving the module invalidates it.
    """

    def __init__(self) -> None:
        """Start empty; the copy is made on first use."""
        self._key: tuple[int, int, torch.dtype, torch.device] | None = None
        self._packed: Tensor | None = None
        # Held so that the keyed address cannot be reused by another tensor while the copy lives.
        self._storage: torch.UntypedStorage | None = None

    def get(self, weight: Tensor) -> Tensor:
        """The packed copy of ``weight`` [out, in], packing it if needed."""
        key = (weight.data_ptr(), weight._version, weight.dtype, weight.device)
        if self._packed is None or self._key != key:
            with torch.inference_mode():
                self._packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), PACKING_ROWS_HINT)
            self._key = key
            self._storage = weight.untyped_storage()
        return self._packed

    def __deepcopy__(self, memo: dict[int, Any]) -> PackedWeight:
        """A copy starts empty: the packed tensor belongs to the original weight."""
        return PackedWeight()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle empty (the packed layout is process-specific)."""
        return {"_key": None, "_packed": None, "_storage": None}


def bucket_rows(rows: int) -> int:
    """The row count the packed path runs ``rows`` rows at: exact below 16, then rounded up to a
    multiple of 1/``ROW_BUCKETS_PER_DOUBLING`` of the power of two below it (≤ 12.5 % more).

    Any traffic thus meets at most 8 row counts per doubling: 93 sizes from 4 to 16,384 rows.
    """
    step = 1 << max(0, rows.bit_length() - 1 - ROW_BUCKETS_PER_DOUBLING.bit_length() + 1)
    return -(-rows // step) * step


def linear(
    x: Tensor, weight: Tensor, bias: Tensor | None, pack: PackedWeight, *, relu: bool = False
) -> Tensor:
    """``F.linear`` (then ReLU when ``relu``), through the packed weight where that is faster.

    The packed path needs a CPU tensor, no autograd and at least ``MIN_PACKED_ROWS`` rows; it
    fuses the ReLU into the matmul, and runs at :func:`bucket_rows` rows (zero rows appended, their
    outputs dropped; each row's result depends on its own inputs only).
    """
    rows = x.numel() // x.shape[-1] if x.shape[-1] else 0
    if (
        AVAILABLE
        and x.device.type == "cpu"
        and rows >= MIN_PACKED_ROWS
        and not torch.is_grad_enabled()
        and x.dtype in (torch.float32, torch.bfloat16)
        and x.dtype == weight.dtype
    ):
        attr = "relu" if relu else "none"
        padded = bucket_rows(rows)
        flat = x.reshape(rows, x.shape[-1])
        if padded != rows:
            flat = torch.cat([flat, flat.new_zeros(padded - rows, flat.shape[1])])
        out: Tensor = torch.ops.mkldnn._linear_pointwise(flat, pack.get(weight), bias, attr, [], "")
        return out[:rows].reshape(*x.shape[:-1], out.shape[-1])
    y = F.linear(x, weight, bias)
    return F.relu(y) if relu else y
