"""The request queue and its batch selection, in the shape of a continuous-batching router.

``BatchQueue`` owns the waiting entries, in order of their rank: an entry's ``urgency`` class
first (lower first), then its ``due`` time (default: its arrival), then its arrival. With the
defaults that is plain FIFO; the SoVITS stage ranks a stream's first audio ahead and a stream's
later audio by when its listener would run out (see :mod:`.playback`). ``next_batch`` is a plain
synchronous loop: take from the front, drop entries whose client has gone, stop at the batch size
or the token budget. The async side (waiting for batch mates, running the model off the event
loop) lives in :mod:`.batcher`.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


#: Rank classes of :attr:`Entry.urgency`.
URGENT = 0
NORMAL = 1


class QueueFullError(Exception):
    """The queue holds ``max_queue`` entries already."""


@dataclass
class Entry(Generic[T]):
    """One queued unit of work."""

    item: T
    #: Estimated decode cost (e.g. tokens to generate); bounds a batch's total work.
    cost: int = 1
    #: True once the request's client disconnected or its deadline passed.
    cancelled: Callable[[], bool] = field(default=lambda: False)
    enqueued_at: float = field(default_factory=time.monotonic)
    #: Rank class: lower runs first (:data:`URGENT` ahead of :data:`NORMAL`).
    urgency: int = NORMAL
    #: Within a class, the earlier ``due`` (monotonic seconds) runs first; None: its arrival.
    due: float | None = None

    def rank(self) -> tuple[int, float]:
        """The queue's sort key (ties keep arrival order)."""
        return (self.urgency, self.enqueued_at if self.due is None else self.due)


class BatchQueue(Generic[T]):
    """Entries in rank order (FIFO for equal ranks) with bounded length; not thread-safe (one
    owner: the engine loop)."""

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        # (rank, arrival number, entry), kept sorted; the number keeps equal ranks in arrival order.
        self._entries: list[tuple[tuple[int, float], int, Entry[T]]] = []
        self._arrivals = itertools.count()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, entry: Entry[T]) -> None:
        """Queue ``entry`` behind every entry of its rank or lower; raises :class:`QueueFullError`
        when full."""
        if len(self._entries) >= self.max_queue:
            raise QueueFullError(f"queue holds {self.max_queue} requests")
        bisect.insort(self._entries, (entry.rank(), next(self._arrivals), entry), key=lambda e: e[:2])

    def _front(self) -> Entry[T]:
        return self._entries[0][2]

    def oldest_wait_s(self, now: float | None = None) -> float:
        """How long the front entry has waited (the oldest, for FIFO ranks); 0 when empty."""
        if not self._entries:
            return 0.0
        return (now if now is not None else time.monotonic()) - self._front().enqueued_at

    def take_all(self) -> list[Entry[T]]:
        """Remove and return every waiting entry (a stage that stops for good fails them)."""
        entries = [entry for *_, entry in self._entries]
        self._entries.clear()
        return entries

    def next_batch(
        self, max_size: int, cost_budget: int | None = None, fits: Callable[[T], bool] | None = None
    ) -> list[Entry[T]]:
        """Take up to ``max_size`` live entries from the front whose summed cost fits the budget.

        The first live entry is always taken, even over budget, so nothing starves. Cancelled
        entries met on the way are dropped and counted. ``fits`` (asked of every live entry, the
        first included, once each) can end the batch too, e.g. when memory is full; a refused
        entry stays at the front, so no later entry overtakes it.
        """
        batch: list[Entry[T]] = []
        spent = 0
        while self._entries and len(batch) < max_size:
            entry = self._front()
            if entry.cancelled():
                del self._entries[0]
                self.dropped += 1
                continue
            if batch and cost_budget is not None and spent + entry.cost > cost_budget:
                break
            if fits is not None and not fits(entry.item):
                break
            del self._entries[0]
            batch.append(entry)
            spent += entry.cost
        return batch
