"""Dynamic batching: grouping, bounds, overload, cancellation, errors and draining."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest
from server_api_helpers import until

from voice_server.engine.batcher import (
    Batcher,
    BatcherFailedError,
    BatcherOverloadedError,
    BatcherStoppedError,
)
from voice_server.engine.queue import URGENT


class Recorder:
    """A batch function that doubles numbers and records the batches it saw.

    With a ``gate`` it blocks until the gate opens; ``entered`` is set as each batch starts, so a
    test waits for "a batch is running" instead of sleeping and hoping.
    """

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.gate = gate
        self.entered = threading.Event()

    def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=10), "the test never opened the gate"
        self.batches.append(list(items))
        return [ValueError(f"bad {i}") if i < 0 else i * 2 for i in items]

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, 10), "no batch started"


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
        await fn.wait_entered()  # the first item is now running, blocked on the gate
        queued = [asyncio.ensure_future(batcher.submit(i)) for i in (2, 3)]
        await until(lambda: batcher.depth == 2)
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
        await fn.wait_entered()
        gone = asyncio.ensure_future(batcher.submit(2))
        await until(lambda: batcher.depth == 1)
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
        await fn.wait_entered()
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
    fn = Recorder()

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
    # The batch blocks until a coroutine on the event loop opens its gate: on the loop's own
    # thread it would block the loop and the gate would never open (the Recorder then fails).
    gate = threading.Event()
    fn = Recorder(gate=gate)

    async def scenario() -> int:
        batcher = _batcher(fn)
        batcher.start()
        work = asyncio.ensure_future(batcher.submit(1))
        await fn.wait_entered()
        gate.set()
        result = await work
        await batcher.stop()
        return result

    assert asyncio.run(scenario()) == 2


@pytest.mark.parametrize("fault", ["on_batch", "result_count"])
def test_a_dying_loop_fails_what_it_holds_at_once_and_refuses_more(fault: str) -> None:
    # A fault outside the per-batch try: the observer callback, or a batch function that returns
    # the wrong number of results (the strict zip). Before, every caller waited for its deadline.
    failures: list[BatcherFailedError] = []

    def short_results(items: Sequence[int]) -> list[int]:
        return [i * 2 for i in items][:-1]

    def observer(waits: list[float]) -> None:
        raise RuntimeError("observer broke")

    async def scenario() -> tuple[list[object], BaseException]:
        batcher: Batcher[int, int] = Batcher(
            short_results if fault == "result_count" else Recorder(),
            max_batch_size=2,
            max_delay_s=0.01,
            max_queue=10,
            on_batch=observer if fault == "on_batch" else (lambda _: None),
            on_failure=failures.append,
        )
        batcher.start()
        held = [batcher.submit(i, timeout_s=60) for i in range(5)]
        results = await asyncio.wait_for(asyncio.gather(*held, return_exceptions=True), 10)
        with pytest.raises(BatcherFailedError) as later:
            await batcher.submit(9, timeout_s=60)
        await batcher.stop()
        return list(results), later.value

    results, later = asyncio.run(scenario())
    # Items whose result was handed out before the fault keep it; every other one fails at once.
    assert all(isinstance(r, BatcherFailedError | int) for r in results), results
    assert any(isinstance(r, BatcherFailedError) for r in results)
    assert len(failures) == 1
    assert later is failures[0]
    assert "RuntimeError" in str(later) or "ValueError" in str(later)


def test_a_busy_stage_runs_urgent_work_next_then_the_rest_by_due_time() -> None:
    gate = threading.Event()
    fn = Recorder(gate=gate)

    async def scenario() -> None:
        batcher = _batcher(fn, max_batch_size=1, max_delay_s=0)
        batcher.start()
        running = asyncio.ensure_future(batcher.submit(1))
        await fn.wait_entered()  # item 1 runs, blocked on the gate; the rest queue behind it
        now = time.monotonic()
        later = asyncio.ensure_future(batcher.submit(2, due=now + 5))  # a stream with audio left
        whole = asyncio.ensure_future(batcher.submit(3))  # unstreamed work: due at its arrival
        await until(lambda: batcher.depth == 2)
        first = asyncio.ensure_future(batcher.submit(4, urgency=URGENT))  # a stream's first audio
        await until(lambda: batcher.depth == 3)
        gate.set()
        assert await asyncio.gather(running, later, whole, first) == [2, 4, 6, 8]
        await batcher.stop()

    asyncio.run(scenario())
    assert fn.batches == [[1], [4], [3], [2]]
