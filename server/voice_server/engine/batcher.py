"""Dynamic batching: concurrent submissions are grouped and run together off the event loop.

One ``Batcher`` per model stage. ``submit`` queues an item and awaits its result; a single loop
task waits for the first item, gives batch mates up to ``max_delay_s`` to arrive (or until the
batch is full), takes a batch from the :class:`~voice_server.engine.queue.BatchQueue` and runs it
on one worker thread, so health checks and metrics stay responsive while the model computes.
A caller that goes away (client disconnect, deadline) is cancelled; its entry is dropped before
it costs any compute.

A failing batch fails its own items only. A loop that dies for any other reason (a bug outside
the model call) would otherwise leave every later caller waiting for its deadline: the stage
then fails what it holds at once, refuses new work with :class:`BatcherFailedError`, and reports
the failure through ``on_failure`` so the server can stop calling itself healthy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from voice_server.engine.queue import NORMAL, BatchQueue, Entry, QueueFullError

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

BatchFn = Callable[[Sequence[ItemT]], Sequence[ResultT | BaseException]]


class BatcherOverloadedError(Exception):
    """The queue is full; the caller should answer 429 with ``retry_after_s``."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"queue full, retry after {retry_after_s:.1f}s")
        self.retry_after_s = retry_after_s


class BatcherStoppedError(Exception):
    """The batcher is stopping and takes no more work."""


class BatcherFailedError(Exception):
    """The stage's loop died; nothing more will run on it (the process needs a restart)."""


@dataclass
class _Job(Generic[ItemT, ResultT]):
    item: ItemT
    future: asyncio.Future[ResultT]
    deadline: float | None

    def cancelled(self) -> bool:
        expired = self.deadline is not None and time.monotonic() > self.deadline
        return self.future.done() or expired

    def fail(self, err: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(err)


class Batcher(Generic[ItemT, ResultT]):
    """Groups submitted items into batches for ``run_batch`` (called on a worker thread).

    ``on_batch`` is told, per dispatched batch, how long each of its items waited in the queue;
    ``on_failure`` is told once if the loop dies.
    """

    def __init__(
        self,
        run_batch: BatchFn[ItemT, ResultT],
        *,
        max_batch_size: int,
        max_delay_s: float,
        max_queue: int,
        cost: Callable[[ItemT], int] = lambda _: 1,
        cost_budget: int | None = None,
        on_batch: Callable[[list[float]], None] = lambda _: None,
        on_failure: Callable[[BatcherFailedError], None] = lambda _: None,
        name: str = "batch",
    ) -> None:
        # Loosely typed: the continuous GPT stage runs its steps through it, and tests wrap it.
        self._run_batch: Callable[[Any], Any] = run_batch
        self.max_batch_size = max_batch_size
        self.max_delay_s = max_delay_s
        self._cost = cost
        self._cost_budget = cost_budget
        self._on_batch = on_batch
        self._on_failure = on_failure
        self._queue: BatchQueue[_Job[ItemT, ResultT]] = BatchQueue(max_queue)
        self._running: list[_Job[ItemT, ResultT]] = []
        self._wakeup = asyncio.Event()
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._busy_s = 0.0  # moving estimate of one batch's run time, for Retry-After
        #: Set once the loop has died; every later submission raises it.
        self.failure: BatcherFailedError | None = None
        self.name = name

    @property
    def depth(self) -> int:
        """Items waiting for a batch."""
        return len(self._queue)

    @property
    def dropped(self) -> int:
        """Items whose caller went away before their batch started (they cost no compute)."""
        return self._queue.dropped

    def start(self) -> None:
        """Start the batching loop on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._guarded_loop(), name=f"{self.name}-loop")

    async def stop(self) -> None:
        """Finish queued and running work, then stop; later submissions are refused."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def submit(
        self, item: ItemT, timeout_s: float | None = None, *, urgency: int = NORMAL, due: float | None = None
    ) -> ResultT:
        """Queue ``item`` and wait for its result (or its exception); ``urgency`` and ``due`` rank
        it in the queue (see :class:`~voice_server.engine.queue.Entry`; default: arrival order)."""
        if self.failure is not None:
            raise self.failure
        if self._stopping:
            raise BatcherStoppedError(f"{self.name} is stopping")
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        job = _Job(item, future, deadline)
        try:
            entry = Entry(item=job, cost=self._cost(item), cancelled=job.cancelled, urgency=urgency, due=due)
            self._queue.append(entry)
        except QueueFullError:
            raise BatcherOverloadedError(self.retry_after_s()) from None
        self._wakeup.set()
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        finally:
            future.cancel()  # no-op when done; otherwise marks the entry dead for next_batch

    def retry_after_s(self) -> float:
        """How long a refused caller should wait: the queue ahead in batches × one batch's time."""
        batches_ahead = 1 + len(self._queue) / max(1, self.max_batch_size)
        return max(1.0, batches_ahead * self._busy_s)

    async def _guarded_loop(self) -> None:
        try:
            await self._loop()
        except asyncio.CancelledError:
            # The event loop is going away: nothing to report, but nobody may wait forever.
            self._fail_held(BatcherStoppedError(f"{self.name} stopped"))
            raise
        except Exception as err:
            log.exception("batching loop died", extra={"batcher": self.name})
            self._fail(BatcherFailedError(f"{self.name} stage failed: {type(err).__name__}: {err}"))

    def _fail(self, failure: BatcherFailedError) -> None:
        """Fail every item held, refuse new ones, tell the owner once."""
        self.failure = failure
        self._fail_held(failure)
        self._on_failure(failure)

    def _fail_held(self, err: Exception) -> None:
        for job in [*self._running, *(entry.item for entry in self._queue.take_all())]:
            job.fail(err)
        self._running = []

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not len(self._queue):
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._gather_batch_mates()
            batch = self._queue.next_batch(self.max_batch_size, self._cost_budget)
            if not batch:
                continue
            self._running = jobs = [entry.item for entry in batch]
            started = time.monotonic()
            self._on_batch([started - entry.enqueued_at for entry in batch])
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, [j.item for j in jobs])
            except Exception as err:
                log.exception("batch failed", extra={"batcher": self.name, "size": len(jobs)})
                results = [err] * len(jobs)
            elapsed = time.monotonic() - started
            self._busy_s = elapsed if not self._busy_s else 0.8 * self._busy_s + 0.2 * elapsed
            for job, result in zip(jobs, results, strict=True):
                if job.future.done():
                    continue
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)
            self._running = []

    async def _gather_batch_mates(self) -> None:
        """Wait until the batch is full or the oldest item has waited ``max_delay_s``."""
        while not self._stopping and len(self._queue) < self.max_batch_size:
            remaining = self.max_delay_s - self._queue.oldest_wait_s()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return
