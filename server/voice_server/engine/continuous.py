"""The GPT stage with iteration-level ("continuous") batching.

Sentences join the running decode at step boundaries instead of waiting for a whole batch to end:
every iteration the loop drops the rows whose caller went away (disconnect, deadline), admits
waiting rows oldest first into free slots, and runs one step on the worker thread: the new rows'
packed prefill, then one decode step over every row (:class:`~gpt_sovits.t2s.slots.DecodeSlots`).
A finished row's slot is free for the next iteration. A row whose request has a token sink (a
sentence streamed in token chunks) hands its ids to it at every step, on the worker thread.

Bounds: at most ``max_rows`` rows decode together; the KV cache of the admitted rows stays within
``cache_budget_bytes`` (a row that does not fit waits at the front of the queue, so nothing
overtakes it; a single row is always admitted when nothing else runs); the rows admitted in one
iteration hold at most ``prefill_budget`` prefix positions, so one burst of arrivals cannot stall
the running rows' next step for long. An idle stage waits up to ``max_delay_s`` for batch mates
before its first step, as the static batcher does. ``on_batch`` hears the queue waits of each
admission, ``on_step`` the number of rows of each decode step.

The stage reuses :class:`~voice_server.engine.batcher.Batcher`'s queue, submission, failure and
stop handling; a sentence's text frontend and reference features run before it queues (off the
event loop), so the queue knows each row's size.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from gpt_sovits.errors import GenerationError, GptSovitsError
from gpt_sovits.pipeline import PreparedSentence, SemanticSentence, SentenceJob, Synthesizer
from gpt_sovits.t2s.decode import DecodeRequest, DecodeResult
from gpt_sovits.t2s.guard import Collapse, collapse
from gpt_sovits.t2s.slots import DecodeSlots, bytes_per_position, cache_bytes, positions_needed
from voice_server.engine.batcher import Batcher, BatcherFailedError, _Job
from voice_server.engine.results import Semantic

log = logging.getLogger(__name__)

# A collapsed row is decoded once more with its repetition penalty raised this much (at least to
# the floor).
_RETRY_PENALTY_FACTOR = 1.3
_RETRY_PENALTY_FLOOR = 1.5


@dataclass(frozen=True)
class StepPlan:
    """What one iteration does on the worker thread: rows to drop, rows to admit (key, request)."""

    drop: list[int]
    admit: list[tuple[int, DecodeRequest]]


@dataclass
class _Row:
    job: _Job[PreparedSentence, Semantic]
    need: int
    enqueued_at: float
    admitted_at: float
    batch_size: int = 0  # most rows it decoded with
    retried: bool = False


@dataclass
class ContinuousStats:
    """Counters of the running decode, for tests and metrics."""

    steps: int = 0
    admitted: int = 0
    dropped_running: int = 0
    largest_batch: int = 0
    prefill_bursts: list[int] = field(default_factory=list)  # prefix positions of recent admissions


class ContinuousGpt(Batcher[PreparedSentence, Semantic]):
    """The GPT stage of one model: rows join and leave the running decode at every step."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        *,
        max_rows: int,
        max_queue: int,
        max_delay_s: float,
        cache_budget_bytes: int | None,
        prefill_budget: int,
        on_batch: Callable[[list[float]], None] = lambda _: None,
        on_failure: Callable[[BatcherFailedError], None] = lambda _: None,
        after_step: Callable[[], None] = lambda: None,
        on_step: Callable[[int], None] = lambda _: None,
        on_collapse: Callable[[Collapse, bool], None] = lambda _reason, _retried: None,
        prepare: Callable[[SentenceJob], PreparedSentence] | None = None,
        name: str = "gpt",
    ) -> None:
        super().__init__(
            self._step,  # type: ignore[arg-type]  # a step takes a StepPlan, not a list of items
            max_batch_size=max_rows,
            max_delay_s=max_delay_s,
            max_queue=max_queue,
            cost=_prefix_positions,
            cost_budget=prefill_budget,
            on_batch=on_batch,
            on_failure=on_failure,
            name=name,
        )
        self._synthesizer = synthesizer
        self._prepare = prepare or synthesizer.prepare
        self._slots = DecodeSlots(synthesizer.t2s, max_rows, cache_budget_bytes)
        self._per_position = bytes_per_position(synthesizer.t2s)
        self.cache_budget_bytes = cache_budget_bytes
        self._rows: dict[int, _Row] = {}
        self._keys = itertools.count()
        self._after_step = after_step
        self._on_step = on_step
        self._on_collapse = on_collapse
        self._retry: list[_Row] = []  # collapsed rows decoded again, ahead of the queue
        self.stats = ContinuousStats()

    @property
    def running(self) -> int:
        """Rows decoding now."""
        return len(self._rows)

    @property
    def dropped(self) -> int:
        """Rows whose caller went away: before admission (no compute) or while decoding."""
        return self._queue.dropped + self.stats.dropped_running

    async def decode(self, job: SentenceJob, timeout_s: float | None = None) -> Semantic:
        """Prepare ``job`` (frontend, reference) off the loop, then decode it with the running rows."""
        started = time.monotonic()
        prepared = await asyncio.to_thread(self._prepare, job)
        left = None if timeout_s is None else timeout_s - (time.monotonic() - started)
        if left is not None and left <= 0:
            raise TimeoutError("request deadline passed")
        return await self.submit(prepared, left)

    def retry_after_s(self) -> float:
        """The queue ahead in rows × one row's decode time, spread over the slots."""
        rows_ahead = 1 + (len(self._queue) + len(self._rows)) / max(1, self.max_batch_size)
        return max(1.0, rows_ahead * self._busy_s)

    def _fail_held(self, err: Exception) -> None:
        for row in [*self._rows.values(), *self._retry]:
            row.job.fail(err)
        self._rows.clear()
        self._retry.clear()
        super()._fail_held(err)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._rows and not self._retry and not len(self._queue):
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if not self._rows and not self._retry:
                # An idle decode gives batch mates ``max_delay_s`` to arrive; a running one takes
                # newcomers at its next step.
                await self._gather_batch_mates()
            drop = [key for key, row in self._rows.items() if row.job.cancelled()]
            for key in drop:
                del self._rows[key]
            self.stats.dropped_running += len(drop)
            admitted = self._admit()
            plan = StepPlan(drop, [(key, row.job.item.request) for key, row in admitted])
            if admitted:
                self._on_batch([row.admitted_at - row.enqueued_at for _, row in admitted])
            try:
                outcome: list[tuple[int, DecodeResult | BaseException]] = await loop.run_in_executor(
                    self._executor, self._run_batch, plan
                )
            except Exception as err:
                # A failed decode step leaves the slots unknown: its rows fail, the next start afresh.
                log.exception("decode step failed", extra={"batcher": self.name, "rows": len(self._rows)})
                for row in self._rows.values():
                    row.job.fail(err)
                self._rows.clear()
                self._slots = DecodeSlots(self._synthesizer.t2s, self.max_batch_size, self.cache_budget_bytes)
                continue
            self._on_step(len(self._rows))
            self._finish(outcome)

    def _admit(self) -> list[tuple[int, _Row]]:
        """Take waiting rows, oldest first, into free slots while the cache budget holds them."""
        needs = [row.need for row in self._rows.values()]

        def fits(job: _Job[PreparedSentence, Semantic]) -> bool:
            need = positions_needed(job.item.request)
            budget = self.cache_budget_bytes
            if needs and budget is not None and cache_bytes([*needs, need], self._per_position) > budget:
                return False
            needs.append(need)
            return True

        admitted: list[tuple[int, _Row]] = []
        while self._retry and len(self._rows) < self.max_batch_size:
            row = self._retry.pop(0)
            if row.job.cancelled():
                self.stats.dropped_running += 1
                continue
            key = next(self._keys)
            self._rows[key] = row
            needs.append(row.need)
            admitted.append((key, row))
        free = self.max_batch_size - len(self._rows)
        entries = self._queue.next_batch(free, self._cost_budget, fits) if free > 0 else []
        now = time.monotonic()
        for entry in entries:
            job = entry.item
            key = next(self._keys)
            row = _Row(job, positions_needed(job.item.request), entry.enqueued_at, now)
            self._rows[key] = row
            admitted.append((key, row))
        if entries:
            self.stats.admitted += len(entries)
            self.stats.prefill_bursts = [*self.stats.prefill_bursts[-63:], sum(e.cost for e in entries)]
        return admitted

    def _step(self, plan: StepPlan) -> list[tuple[int, DecodeResult | BaseException]]:
        """One iteration on the worker thread: drop, prefill the new rows, one decode step."""
        slots = self._slots
        slots.remove(plan.drop)
        failed: list[tuple[int, DecodeResult | BaseException]] = []
        try:
            slots.admit(plan.admit)
        except (ValueError, GptSovitsError) as err:
            # These rows' prefill was refused before it touched the slots; the others decode on.
            failed = [(key, err) for key, _ in plan.admit]
        finished = slots.step()
        self.stats.steps += 1
        self._after_step()
        return [*failed, *((done.key, done.result) for done in finished)]

    def _collapsed(self, row: _Row, result: DecodeResult) -> bool:
        """Apply the generation guard to a finished row: retry it once, then fail it (at once when
        the row streams and a chunk of it has been cut)."""
        prepared = row.job.item
        params = prepared.job.params
        budget_reached = (
            params.max_tokens_per_sentence is None and result.steps >= prepared.request.max_new_tokens
        )
        reason = collapse(
            result.tokens.tolist(), stopped_by_eos=result.stopped_by_eos, phone_budget_reached=budget_reached
        )
        if reason is None:
            return False
        # A streamed row is retried only while none of its ids has left as audio.
        sink = prepared.request.sink
        streamed = not row.retried and sink is not None and not sink.restart()
        self._on_collapse(reason, not row.retried and not streamed)
        if row.retried or streamed:
            when = "after part of it was streamed" if streamed else "twice"
            row.job.fail(GenerationError(f"the decode of {prepared.job.text!r} collapsed ({reason}) {when}"))
            return True
        retry = replace(prepared, request=_retry_request(prepared.request))
        row.job.item = retry
        row.retried = True
        self._retry.append(row)
        self._wakeup.set()
        return True

    def _finish(self, outcome: Sequence[tuple[int, DecodeResult | BaseException]]) -> None:
        running = len(self._rows)
        self.stats.largest_batch = max(self.stats.largest_batch, running)
        for row in self._rows.values():
            row.batch_size = max(row.batch_size, running)
        now = time.monotonic()
        for key, result in outcome:
            done = self._rows.pop(key) if key in self._rows else None
            if done is None or done.job.future.done():
                continue
            if isinstance(result, BaseException):
                done.job.future.set_exception(result)
                continue
            if self._collapsed(done, result):
                continue
            elapsed = now - done.admitted_at
            self._busy_s = elapsed if not self._busy_s else 0.8 * self._busy_s + 0.2 * elapsed
            sentence = SemanticSentence(done.job.item, result.tokens)
            done.job.future.set_result(Semantic(sentence, done.batch_size))


def _retry_request(request: DecodeRequest) -> DecodeRequest:
    """The same row with a higher repetition penalty (the usual way out of a loop)."""
    sampling = request.sampling
    penalty = max(sampling.repetition_penalty * _RETRY_PENALTY_FACTOR, _RETRY_PENALTY_FLOOR)
    return replace(request, sampling=replace(sampling, repetition_penalty=penalty))


def _prefix_positions(prepared: PreparedSentence) -> int:
    request = prepared.request
    return request.phones.numel() + request.prompt.numel()
