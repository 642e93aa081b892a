"""The request queue and its batch selection, in the shape of a continuous-batching router.

``BatchQueue`` owns the waiting entries. ``next_batch`` is a plain synchronous loop: take from the
front, drop entries whose client has gone, stop at the batch size or the token budget. The async
side (waiting for batch mates, running the model off the event loop) lives in :mod:`.batcher`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


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


class BatchQueue(Generic[T]):
    """FIFO of entries with bounded length; not thread-safe (one owner: the engine loop)."""

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self._entries: deque[Entry[T]] = deque()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, entry: Entry[T]) -> None:
        """Queue ``entry`` at the back; raises :class:`QueueFullError` when full."""
        if len(self._entries) >= self.max_queue:
            raise QueueFullError(f"queue holds {self.max_queue} requests")
        self._entries.append(entry)

    def oldest_wait_s(self, now: float | None = None) -> float:
        """How long the front entry has waited; 0 when empty."""
        if not self._entries:
            return 0.0
        return (now if now is not None else time.monotonic()) - self._entries[0].enqueued_at

    def take_all(self) -> list[Entry[T]]:
        """Remove and return every waiting entry (a stage that stops for good fails them)."""
        entries = list(self._entries)
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
            entry = self._entries[0]
            if entry.cancelled():
                self._entries.popleft()
                self.dropped += 1
                continue
            if batch and cost_budget is not None and spent + entry.cost > cost_budget:
                break
            if fits is not None and not fits(entry.item):
                break
            self._entries.popleft()
            batch.append(entry)
            spent += entry.cost
        return batch
