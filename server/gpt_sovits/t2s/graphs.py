"""The continuous decode's step at a few static shapes, so that CUDA can replay it as a graph.

A CUDA graph replays fixed kernels on fixed addresses, so the step it holds must keep its shapes.
The rows of a :class:`~gpt_sovits.t2s.slots.DecodeSlots` decode come and go, and the attended
columns grow by one every step; :class:`GraphedStep` therefore runs the step padded to the
smallest of a few (rows, KV columns) buckets that holds it, over the same
:class:`~gpt_sovits.t2s.kv_cache.SlotKVCache`:

- rows up to the bucket's row count: the extra rows are free slots of the cache, fed id 0 at
  position 0 and attending to their own column 0 only (what they write there is finite and is
  overwritten by the next prefill into that slot);
- columns up to the bucket's length: the key mask hides every column past each row's own next
  position, as the eager step's mask does.

Every row depends on its own inputs only, so the padded step gives each real row the eager step's
numbers (up to the reduction order of wider kernels). A bucket is captured once, per cache storage
(a reallocation moves the addresses a graph holds), and replayed with the step's ids, positions
and row lengths copied into its static inputs; logits are copied out. Buckets are clipped to the
storage (at most its rows and positions), so a graph never reaches past it. Sampling stays
outside the graph: each row draws from its own RNG.

The eager step (:meth:`~gpt_sovits.t2s.model.Text2SemanticDecoder.decode_step`) runs instead when
the device is not CUDA, when no bucket holds the rows, or when capturing a bucket raised (logged
once, and that bucket stays eager). Tests inject :func:`run_uncaptured` as the capture, which runs
the same padded step without a graph, on any device.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from gpt_sovits.t2s.kv_cache import SlotKVCache
from gpt_sovits.t2s.model import NEG_INF, Text2SemanticDecoder

log = logging.getLogger(__name__)

#: A static shape: (rows, attended KV columns).
Bucket = tuple[int, int]
#: Turns a step over static buffers into something that replays it (a CUDA graph's replay).
Capture = Callable[[Callable[[], None]], Callable[[], None]]

# Rows double (padding wastes at most half the rows), columns too (at most half the attention);
# buckets past the cache storage are clipped to it, so the long ones cost nothing when unused.
DEFAULT_ROWS = (1, 2, 4, 8, 16, 32, 64)
DEFAULT_COLUMNS = (128, 256, 512, 1024, 2048, 4096)
# Warm-up runs before capture: lazy initialisation (cuBLAS workspaces, kernel selection) must
# happen outside the capture.
_WARMUP_RUNS = 2


def default_buckets(
    rows: Sequence[int] = DEFAULT_ROWS, columns: Sequence[int] = DEFAULT_COLUMNS
) -> list[Bucket]:
    """Every (rows, columns) pair of the two ladders."""
    return list(itertools.product(rows, columns))


def choose_bucket(buckets: Sequence[Bucket], rows: int, columns: int) -> Bucket | None:
    """The smallest bucket (fewest padded positions, then fewest rows) holding ``rows`` rows of
    ``columns`` attended columns; None when none does."""
    fitting = [b for b in buckets if b[0] >= rows and b[1] >= columns]
    return min(fitting, key=lambda b: (b[0] * b[1], b[0], b[1]), default=None)


def run_uncaptured(step: Callable[[], None]) -> Callable[[], None]:
    """A "capture" that keeps the step as it is: the padded static-shape step, run eagerly."""
    return step


def capture_cuda_graph(step: Callable[[], None]) -> Callable[[], None]:
    """Capture ``step`` (which reads and writes only static tensors) into a CUDA graph."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(_WARMUP_RUNS):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    # thread_local: the SoVITS stage keeps using CUDA on its own thread while the GPT worker
    # captures; the default "global" mode would make those calls fail.
    with torch.cuda.graph(graph, capture_error_mode="thread_local"):
        step()
    return graph.replay


@dataclass
class GraphStats:
    """What the steps ran as, for tests and benchmarks."""

    padded: int = 0  # steps run at a bucket's shape (replayed graphs on CUDA)
    eager: int = 0  # steps run by the eager decode step
    captures: int = 0  # buckets captured (again after each cache reallocation)
    failed: int = 0  # buckets whose capture raised
    shapes: set[Bucket] = field(default_factory=set)  # (rows, columns) of the captured steps


class _PaddedCache:
    """The slot cache's storage seen at one static shape (the ``DecodeCache`` the blocks write to).

    Each row's new key/value goes to its own column ``lengths[row]`` (a scatter: no host sync);
    attention reads the first ``rows`` rows' first ``columns`` columns. The storage is looked up
    at every run rather than held, so a reallocated cache frees the old one at once.
    """

    def __init__(self, cache: SlotKVCache, lengths: Tensor, rows: int, columns: int) -> None:
        self._cache = cache
        self._rows, self._columns = rows, columns
        heads, head_dim = cache.keys.shape[2], cache.keys.shape[4]
        self._index = lengths.view(rows, 1, 1, 1).expand(rows, heads, 1, head_dim)

    @property
    def length(self) -> int:
        """The last column of the static view (the blocks pass it back as ``start``, unused here)."""
        return self._columns - 1

    def write(self, layer: int, start: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store one token per row at its own length; return the static views."""
        keys = self._cache.keys[layer, : self._rows]
        values = self._cache.values[layer, : self._rows]
        keys.scatter_(2, self._index, k)
        values.scatter_(2, self._index, v)
        return keys[:, :, : self._columns], values[:, :, : self._columns]

    def write_row(self, layer: int, row: int, start: int, k: Tensor, v: Tensor) -> None:
        """Prefill never goes through the static step."""
        raise NotImplementedError("the static decode step writes one token per row")

    def advance(self, steps: int) -> None:
        """Nothing here: the real cache advances once the step ran."""


class _StaticStep:
    """The static inputs, outputs and step of one shape over one cache storage."""

    def __init__(self, model: Text2SemanticDecoder, cache: SlotKVCache, rows: int, columns: int) -> None:
        dev, long = model.device, torch.long
        self.rows, self.columns = rows, columns
        self.ids = torch.zeros(rows, dtype=long, device=dev)
        self.positions = torch.zeros(rows, dtype=long, device=dev)
        self.lengths = torch.zeros(rows, dtype=long, device=dev)
        self.logits = torch.zeros(rows, model.config.vocab_size, device=dev)
        self._column_index = torch.arange(columns, device=dev)
        self._open = torch.zeros(rows, columns, dtype=model.dtype, device=dev)
        # Held here: the graph keeps the table's address, so a regrown table must not free it.
        self._table = model.ar_audio_position.table(columns)
        self._model = model
        self._cache = _PaddedCache(cache, self.lengths, rows, columns)
        self.replay: Callable[[], None] = self.run

    def load(self, ids: Tensor, positions: Tensor, lengths: Tensor) -> None:
        """Copy one step's inputs in; padding rows get id 0 at position 0 of length 0."""
        n = ids.shape[0]
        for static, value in ((self.ids, ids), (self.positions, positions), (self.lengths, lengths)):
            static[:n].copy_(value)
            static[n:].zero_()

    def run(self) -> None:
        """The decode step on the static tensors only (no host sync, no shape from the data)."""
        model = self._model
        ids, positions = self.ids.unsqueeze(1), self.positions.unsqueeze(1)
        # embed_audio without SinePositions' max(): the same table rows, times the same alpha.
        x = model.ar_audio_embedding(ids) + model.ar_audio_position.alpha * self._table[positions]
        hidden = self._column_index.unsqueeze(0) > self.lengths.unsqueeze(1)
        mask = self._open.masked_fill(hidden, NEG_INF)[:, None, None, :]
        out = model.run_blocks(x, mask, self._cache, start=self.columns - 1)
        self.logits.copy_(model.logits(out[:, -1]))


class GraphedStep:
    """One decode step over a slot cache, padded to a bucket and replayed (see the module doc).

    ``capture`` defaults to :func:`capture_cuda_graph` on a CUDA model and to nothing elsewhere
    (then every step is eager). Not thread-safe: its :class:`DecodeSlots` owner calls it.
    """

    def __init__(
        self,
        model: Text2SemanticDecoder,
        buckets: Sequence[Bucket] | None = None,
        *,
        capture: Capture | None = None,
    ) -> None:
        self.model = model
        self.buckets = list(default_buckets() if buckets is None else buckets)
        if capture is None and model.device.type == "cuda":
            capture = capture_cuda_graph
        elif capture is None:
            log.info("CUDA graphs need a CUDA device; the decode runs eagerly on %s", model.device.type)
        self._capture = capture
        self._steps: dict[Bucket, _StaticStep] = {}
        self._storage: tuple[int, int, tuple[int, ...]] | None = None
        self._failed: set[Bucket] = set()
        self.stats = GraphStats()

    def step(self, ids: Tensor, positions: Tensor, cache: SlotKVCache) -> Tensor:
        """Feed one id per row at its audio position; logits [rows, V] for the next ids."""
        bucket = None
        if self._capture is not None:
            bucket = choose_bucket(self.buckets, ids.shape[0], cache.length + 1)
        static = None
        if bucket is not None and bucket not in self._failed:
            static = self._static(bucket, cache, ids, positions)
        if static is None:
            self.stats.eager += 1
            return self.model.decode_step(ids, positions, cache.key_mask(), cache)
        static.replay()
        cache.advance(1)
        self.stats.padded += 1
        return static.logits[: ids.shape[0]].clone()

    def _static(
        self, bucket: Bucket, cache: SlotKVCache, ids: Tensor, positions: Tensor
    ) -> _StaticStep | None:
        """The bucket's step at this storage's clipped shape with this step's inputs loaded,
        captured first when new; None when its capture raised."""
        # A graph depends only on the addresses and shape it was captured with.
        storage = (cache.keys.data_ptr(), cache.values.data_ptr(), tuple(cache.keys.shape))
        if storage != self._storage:
            self._steps.clear()
            self._storage = storage
        shape = (min(bucket[0], cache.allocated_rows), min(bucket[1], cache.capacity))
        static = self._steps.get(shape)
        fresh = static is None
        if static is None:
            static = _StaticStep(self.model, cache, *shape)
        # Loaded before a capture too: its warm-up runs then write what this step writes anyway.
        static.load(ids, positions, cache.lengths)
        if not fresh:
            return static
        assert self._capture is not None
        try:
            static.replay = self._capture(static.run)
        except Exception:
            log.warning(
                "capturing the decode step at %d rows x %d columns failed; that bucket decodes eagerly",
                *bucket,
                exc_info=True,
            )
            self._failed.add(bucket)
            self.stats.failed += 1
            return None
        self.stats.captures += 1
        self.stats.shapes.add(shape)
        self._steps[shape] = static
        return static
