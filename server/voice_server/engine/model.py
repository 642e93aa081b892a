"""One loaded voice model with its two batching stages, and the lease a request holds on it.

A :class:`VoiceModel` is one GPT/SoVITS weight pair loaded into a :class:`~gpt_sovits.pipeline.
Synthesizer`, plus a GPT batcher (sentences of concurrent requests decode together) and a SoVITS
batcher (semantic ids → audio). It is never modified after it is built: loading new weights builds
a new one (see :mod:`.registry`), and a request keeps the object it started with, under a
:class:`ModelLease`, to its end. So a swap never mixes two voices in one response.

Lease bookkeeping runs on the event loop only (an ``asyncio.Event`` is not thread-safe): releasing
a lease from a worker thread raises.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from gpt_sovits.errors import GptSovitsError
from gpt_sovits.pipeline import PreparedSentence, SentenceJob, SynthesisParams, Synthesizer, VoiceReference
from voice_server.engine.batcher import Batcher, BatcherFailedError
from voice_server.engine.continuous import ContinuousGpt
from voice_server.engine.results import Semantic, SentenceAudio
from voice_server.metrics import ServerMetrics

log = logging.getLogger(__name__)

# Each queued request may hold several sentences; the stages' own bound is a safety net behind
# the per-request admission limit (``max_queue`` requests).
_SENTENCES_PER_REQUEST_BOUND = 64


@dataclass(frozen=True)
class ModelSpec:
    """The files of one voice model."""

    gpt_weights: Path
    sovits_weights: Path
    bert_dir: Path | None = None
    hubert_dir: Path | None = None
    sv_weights: Path | None = None  # speaker verification (v2Pro/v2ProPlus only)


@dataclass(frozen=True)
class BatchingSettings:
    """How the stages group work (from the server settings)."""

    max_batch_size: int
    max_delay_s: float
    max_queue: int
    #: continuous: sentences join the running GPT decode at every step; static: whole batches.
    scheduler: Literal["continuous", "static"] = "continuous"
    #: Continuous only: KV-cache bytes of the decoding sentences (None: max_batch_size bounds them).
    cache_budget_bytes: int | None = None
    #: Continuous only: most prefix positions prefilled in one step.
    prefill_budget: int = 4096


def _remaining(deadline: float) -> float:
    """Seconds left before ``deadline``; a spent deadline is a timeout before any work."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("request deadline passed")
    return left


class ModelLease:
    """A request's hold on a model: the model is not stopped while a lease is held.

    ``release`` may be called more than once (a stream releases when it ends and again from its
    response's background task, whichever comes first).
    """

    def __init__(self, model: VoiceModel) -> None:
        self.model = model
        self._released = False
        model._hold()

    def release(self) -> None:
        """Give the model back (on the event loop)."""
        if not self._released:
            self.model._unhold()
            self._released = True


class VoiceModel:
    """One loaded model and its GPT and SoVITS batchers (start them on the serving loop)."""

    def __init__(
        self,
        name: str,
        spec: ModelSpec,
        synthesizer: Synthesizer,
        *,
        generation: int,
        batching: BatchingSettings,
        metrics: ServerMetrics,
        on_failure: Callable[[BatcherFailedError], None] = lambda _: None,
    ) -> None:
        self.name = name
        self.spec = spec
        self.synthesizer = synthesizer
        self.generation = generation
        self._metrics = metrics
        self._holders = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._reference_count_lock = threading.Lock()
        stage_queue = batching.max_queue * _SENTENCES_PER_REQUEST_BOUND
        self.gpt: Batcher[SentenceJob, Semantic] | ContinuousGpt
        if batching.scheduler == "continuous":
            self.gpt = ContinuousGpt(
                synthesizer,
                max_rows=batching.max_batch_size,
                max_queue=stage_queue,
                max_delay_s=batching.max_delay_s,
                cache_budget_bytes=batching.cache_budget_bytes,
                prefill_budget=batching.prefill_budget,
                on_batch=self._wait_observer("gpt"),
                on_failure=on_failure,
                after_step=self._record_gpu_memory,
                on_step=self._metrics.batch_size.labels(stage="gpt").observe,
                on_collapse=self._count_collapse,
                prepare=self._prepare,
                name=f"gpt-{name}",
            )
        else:
            self.gpt = Batcher(
                self._gpt_batch,
                max_batch_size=batching.max_batch_size,
                max_delay_s=batching.max_delay_s,
                max_queue=stage_queue,
                on_batch=self._observer("gpt"),
                on_failure=on_failure,
                name=f"gpt-{name}",
            )
        # SoVITS decodes one sentence at a time; grouping still lets it drain the queue without
        # returning to the event loop between sentences.
        self.sovits: Batcher[Semantic, SentenceAudio] = Batcher(
            self._sovits_batch,
            max_batch_size=batching.max_batch_size,
            max_delay_s=0.0,
            max_queue=stage_queue,
            on_batch=self._observer("sovits"),
            on_failure=on_failure,
            name=f"sovits-{name}",
        )

    @property
    def version(self) -> str:
        """The model version its SoVITS file declares (v2, v2Pro, v2ProPlus)."""
        return self.synthesizer.version

    @property
    def sample_rate(self) -> int:
        """Output rate of the model in Hz."""
        return self.synthesizer.sample_rate

    @property
    def queue_depth(self) -> int:
        """Sentences waiting in either stage."""
        return self.gpt.depth + self.sovits.depth

    def lease(self) -> ModelLease:
        """Hold this model for one request (both stages, every sentence)."""
        return ModelLease(self)

    @property
    def holders(self) -> int:
        """Leases currently held."""
        return self._holders

    def _hold(self) -> None:
        asyncio.get_running_loop()  # raises off the loop thread
        self._holders += 1
        self._idle.clear()

    def _unhold(self) -> None:
        asyncio.get_running_loop()  # raises off the loop thread
        self._holders -= 1
        if self._holders == 0:
            self._idle.set()

    def retry_after_s(self) -> float:
        """How long a refused request should wait before trying this model again."""
        return self.gpt.retry_after_s()

    @property
    def failure(self) -> BatcherFailedError | None:
        """Why a stage of this model stopped for good, or None while both run."""
        return self.gpt.failure or self.sovits.failure

    def jobs(self, text: str, reference: VoiceReference, params: SynthesisParams) -> list[SentenceJob]:
        """The request's sentences as jobs for the stages (raises the model's errors)."""
        return self.synthesizer.jobs(text, reference, params)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no request holds the model; False when ``timeout_s`` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def _observer(self, stage: str) -> Callable[[list[float]], None]:
        def observe(waits: list[float]) -> None:
            self._metrics.batch_size.labels(stage=stage).observe(len(waits))
            self._wait_observer(stage)(waits)

        return observe

    def _wait_observer(self, stage: str) -> Callable[[list[float]], None]:
        """Queue waits only (the continuous GPT stage reports its batch size per step)."""

        def observe(waits: list[float]) -> None:
            for wait in waits:
                self._metrics.queue_wait.labels(stage=stage).observe(wait)

        return observe

    def _count_collapse(self, reason: str, retried: bool) -> None:
        counter = self._metrics.generation_retries if retried else self._metrics.generation_failures
        counter.labels(reason=reason).inc()

    def _record_gpu_memory(self) -> None:
        device = self.synthesizer.device
        if device.type == "cuda":
            self._metrics.gpu_memory_bytes.set(torch.cuda.memory_allocated(device))

    @contextmanager
    def _counting_references(self) -> Iterator[None]:
        """Count the reference-cache hits, misses and SV runs of the work inside (one at a time, so
        the counters' deltas are this work's own)."""
        synth = self.synthesizer
        with self._reference_count_lock:
            before = (synth.reference_cache_hits, synth.reference_computations, synth.sv_computations)
            try:
                yield
            finally:
                self._metrics.reference_cache_hits.inc(synth.reference_cache_hits - before[0])
                self._metrics.reference_cache_misses.inc(synth.reference_computations - before[1])
                self._metrics.speaker_verification_runs.inc(synth.sv_computations - before[2])

    def _prepare(self, job: SentenceJob) -> PreparedSentence:
        with self._counting_references():
            return self.synthesizer.prepare(job)

    def _gpt_batch(self, jobs: Sequence[SentenceJob]) -> list[Semantic | BaseException]:
        with self._counting_references():
            results = self.synthesizer.semantic_batch(list(jobs))
        self._record_gpu_memory()
        return [r if isinstance(r, GptSovitsError) else Semantic(r, len(jobs)) for r in results]

    def _sovits_batch(self, items: Sequence[Semantic]) -> list[SentenceAudio | BaseException]:
        results: list[SentenceAudio | BaseException] = []
        for item in items:
            try:
                results.append(SentenceAudio(self.synthesizer.vocode(item.sentence), item.batch_size))
            except GptSovitsError as err:
                results.append(err)
        self._record_gpu_memory()
        return results

    def start(self) -> None:
        """Start both stages on the running event loop."""
        self.gpt.start()
        self.sovits.start()

    async def stop(self) -> None:
        """Finish the queued work, then stop both stages."""
        await self.gpt.stop()
        await self.sovits.stop()

    async def semantic(self, job: SentenceJob, deadline: float) -> Semantic:
        """One sentence through the GPT stage."""
        if isinstance(self.gpt, ContinuousGpt):
            return await self.gpt.decode(job, _remaining(deadline))
        return await self.gpt.submit(job, _remaining(deadline))

    async def sentence(self, job: SentenceJob, deadline: float) -> SentenceAudio:
        """One sentence through both stages."""
        semantic = await self.semantic(job, deadline)
        return await self.sovits.submit(semantic, _remaining(deadline))

    async def sentences(self, jobs: Sequence[SentenceJob], deadline: float) -> list[SentenceAudio]:
        """All sentences of a request at once (they decode in one GPT batch); results in order.

        The first failure cancels the request's other sentences.
        """
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.sentence(job, deadline)) for job in jobs]
        except ExceptionGroup as group:
            raise _first_leaf(group) from None
        return [task.result() for task in tasks]

    async def stream(
        self, jobs: Sequence[SentenceJob], deadline: float
    ) -> AsyncGenerator[SentenceAudio, None]:
        """Sentences in order, each as soon as it is ready.

        Sentence i+1's GPT decode is queued when sentence i's finishes, so it overlaps sentence
        i's SoVITS decode; decoding them all in one batch would hold the first audio back until
        the longest sentence is done.
        """
        if not jobs:
            return
        pending: asyncio.Task[Semantic] | None = asyncio.create_task(self.semantic(jobs[0], deadline))
        try:
            for index in range(len(jobs)):
                assert pending is not None
                semantic = await pending
                pending = None
                if index + 1 < len(jobs):
                    pending = asyncio.create_task(self.semantic(jobs[index + 1], deadline))
                yield await self.sovits.submit(semantic, _remaining(deadline))
        finally:
            if pending is not None:
                pending.cancel()


def _first_leaf(group: BaseExceptionGroup[Exception]) -> Exception:
    """The first real error inside a (possibly nested) exception group."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
