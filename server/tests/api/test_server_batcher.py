"""Dynamic batching: grouping, bounds, overload, cancellation, errors and draining."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from voice_server.batcher import Batcher, BatcherOverloadedError, BatcherStoppedError


class Recorder:
    """A batch function that doubles numbers and records the batches it saw."""

    def __init__(self, delay_s: float = 0.0, gate: threading.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.delay_s = delay_s
        self.gate = gate

    def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        if self.gate is not None:
            self.gate.wait(timeout=10)
        time.sleep(self.delay_s)
        self.batches.append(list(items))
        return [ValueError(f"bad {i}") if i < 0 else i * 2 for i in items]


def _batcher(fn: Recorder, **overrides: float) -> Batcher[int, int]:
    options = {"max_batch_size": 4, "max_delay_s": 0.05, "max_queue": 100, **overrides}
    return Batcher(fn, **options)  # type: ignore[arg-type]


def test_concurrent_submissions_share_one_batch() -> None:
    fn = Recorder()

    async def scenario() -> list[int]:
        batcher = _batcher(fn, max_batch_size=8)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(i) for i in range(5)))
        await batcher.stop()
        return list(results)

    assert asyncio.run(scenario()) == [0, 2, 4, 6, 8]
    assert fn.batches == [[0, 1, 2, 3, 4]]


def test_batches_never_exceed_the_size_bound() -> None:
    fn = Recorder()

    async def scenario() -> None:
        batcher = _batcher(fn, max_batch_size=4, max_delay_s=0.2)
        batcher.start()
        await asyncio.gather(*(batcher.submit(i) for i in range(10)))
        await batcher.stop()

    asyncio.run(scenario())
    assert [len(b) for b in fn.batches] == [4, 4, 2]
    assert sorted(i for b in fn.batches for i in b) == list(range(10))


def test_full_queue_raises_overloaded_with_retry_after() -> None:
    gate = threading.Event()
    fn = Recorder(gate=gate)

    async def scenario() -> float:
        batcher = _batcher(fn, max_batch_size=1, max_delay_s=0, max_queue=2)
        batcher.start()
        running = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.05)  # the first item is now running, blocked on the gate
        queued = [asyncio.ensure_future(batcher.submit(i)) for i in (2, 3)]
        await asyncio.sleep(0)
        with pytest.raises(BatcherOverloadedError) as refused:
            await batcher.submit(4)
        gate.set()
        assert await running == 2
        assert [await q for q in queued] == [4, 6]
        await batcher.stop()
        return refused.value.retry_after_s

    assert asyncio.run(scenario()) >= 1.0


def test_cancelled_caller_costs_no_compute() -> None:
    gate = threading.Event()
    fn = Recorder(gate=gate)

    async def scenario() -> None:
        batcher = _batcher(fn, max_batch_size=1, max_delay_s=0)
        batcher.start()
        first = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.05)
        gone = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0.01)
        gone.cancel()  # the client disconnected while queued
        gate.set()
        assert await first == 2
        assert await batcher.submit(3) == 6
        await batcher.stop()

    asyncio.run(scenario())
    assert [1] in fn.batches
    assert all(2 not in b for b in fn.batches)


def test_deadline_expires_while_queued() -> None:
    gate = threading.Event()
    fn = Recorder(gate=gate)

    async def scenario() -> None:
        batcher = _batcher(fn, max_batch_size=1, max_delay_s=0)
        batcher.start()
        first = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.05)
        with pytest.raises(TimeoutError):
            await batcher.submit(2, timeout_s=0.05)
        gate.set()
        await first
        await batcher.stop()

    asyncio.run(scenario())
    assert all(2 not in b for b in fn.batches)


def test_item_errors_reach_only_their_caller() -> None:
    fn = Recorder()

    async def scenario() -> tuple[object, ...]:
        batcher = _batcher(fn, max_batch_size=8)
        batcher.start()
        results = await asyncio.gather(batcher.submit(1), batcher.submit(-1), return_exceptions=True)
        await batcher.stop()
        return tuple(results)

    ok, failed = asyncio.run(scenario())
    assert ok == 2
    assert isinstance(failed, ValueError)


def test_a_failing_batch_fails_each_of_its_callers() -> None:
    def explode(items: Sequence[int]) -> list[int]:
        raise RuntimeError("device lost")

    async def scenario() -> list[object]:
        batcher: Batcher[int, int] = Batcher(explode, max_batch_size=4, max_delay_s=0.02, max_queue=10)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
        await batcher.stop()
        return list(results)

    assert all(isinstance(r, RuntimeError) for r in asyncio.run(scenario()))


def test_stop_drains_queued_work_then_refuses() -> None:
    fn = Recorder(delay_s=0.02)

    async def scenario() -> list[int]:
        batcher = _batcher(fn, max_batch_size=2)
        batcher.start()
        pending = [asyncio.ensure_future(batcher.submit(i)) for i in range(5)]
        await asyncio.sleep(0)
        await batcher.stop()
        with pytest.raises(BatcherStoppedError):
            await batcher.submit(9)
        return [await p for p in pending]

    assert asyncio.run(scenario()) == [0, 2, 4, 6, 8]


def test_event_loop_stays_responsive_while_a_batch_computes() -> None:
    fn = Recorder(delay_s=0.3)

    async def scenario() -> int:
        batcher = _batcher(fn)
        batcher.start()
        ticks = 0
        work = asyncio.ensure_future(batcher.submit(1))
        while not work.done():
            await asyncio.sleep(0.01)
            ticks += 1
        await batcher.stop()
        return ticks

    assert asyncio.run(scenario()) >= 10
