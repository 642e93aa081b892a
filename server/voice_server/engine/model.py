"""One loaded voice model with its two batching stages, and the lease a request holds on it.

A :class:`VoiceModel` is one GPT/SoVITS weight pair loaded into a :class:`~gpt_sovits.pipeline.
Synthesizer`, plus a GPT batcher (sentences of concurrent requests decode together) and a SoVITS
batcher (semantic ids → audio: whole sentences, or the chunks of a sentence streamed while it
decodes, see :mod:`.chunks`). It is never modified after it is built: loading new weights builds
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import torch

from gpt_sovits.errors import GptSovitsError
from gpt_sovits.pipeline import (
    ChunkVocode,
    PreparedSentence,
    SemanticSentence,
    SentenceJob,
    SynthesisParams,
    Synthesizer,
    VoiceReference,
)
from voice_server.engine.batcher import Batcher, BatcherFailedError
from voice_server.engine.chunks import ChunkJob, StreamedSentence, TokenChunking, TokenFeed
from voice_server.engine.continuous import ContinuousGpt
from voice_server.engine.playback import Playback
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
    #: playback: the SoVITS queue serves a stream's first audio first, then by when each
    #: listener's audio runs out (see :mod:`.playback`); arrival: first come, first served.
    sovits_order: Literal["playback", "arrival"] = "playback"
    #: Most SoVITS items (sentences, stream chunks) decoded in one call; items whose windows have
    #: one shape share the flow and generator (see ``Synthesizer.vocode_batch``).
    sovits_max_batch_size: int = 1
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


@dataclass
class _Decoding:
    """A sentence on its way through the GPT stage; one streamed in token chunks also has its feed
    and, once prepared, its SoVITS state."""

    task: asyncio.Task[Semantic]
    feed: TokenFeed | None = None
    streamed: StreamedSentence | None = None

    def cancel(self) -> None:
        self.task.cancel()


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
        self._sovits_order = batching.sovits_order
        self._holders = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._reference_count_lock = threading.Lock()
        stage_queue = batching.max_queue * _SENTENCES_PER_REQUEST_BOUND
        self.gpt: Batcher[SentenceJob | PreparedSentence, Semantic] | ContinuousGpt
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
        # SoVITS takes what is queued, in the queue's order (a stream's first audio first, see
        # :mod:`.playback`), up to its batch size, without waiting for batch mates: at the default
        # of one item the order holds between any two items.
        self.sovits: Batcher[Semantic | ChunkJob, SentenceAudio] = Batcher(
            self._sovits_batch,
            max_batch_size=batching.sovits_max_batch_size,
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

    def _gpt_batch(self, jobs: Sequence[SentenceJob | PreparedSentence]) -> list[Semantic | BaseException]:
        with self._counting_references():
            results = self.synthesizer.semantic_batch(jobs)
        self._record_gpu_memory()
        return [r if isinstance(r, GptSovitsError) else Semantic(r, len(jobs)) for r in results]

    def _sovits_batch(self, items: Sequence[Semantic | ChunkJob]) -> list[SentenceAudio | BaseException]:
        synth = self.synthesizer
        work: list[SemanticSentence | ChunkVocode] = []
        built: list[int] = []  # positions in ``items`` of the work that could be built
        results: list[SentenceAudio | BaseException | None] = [None] * len(items)
        for index, item in enumerate(items):
            try:
                if isinstance(item, ChunkJob):
                    work.append(ChunkVocode(item.sentence.decoder_for(synth), item.tokens, item.final))
                else:
                    work.append(item.sentence)
            except GptSovitsError as err:
                results[index] = err
                continue
            built.append(index)
        for index, wave in zip(built, synth.vocode_batch(work), strict=True):
            item = items[index]
            if isinstance(wave, GptSovitsError):
                results[index] = wave
                continue
            final = item.final if isinstance(item, ChunkJob) else True  # a whole sentence ends here
            results[index] = SentenceAudio(wave, item.batch_size, final=final)
        self._record_gpu_memory()
        return [result for result in results if result is not None]

    def start(self) -> None:
        """Start both stages on the running event loop."""
        self.gpt.start()
        self.sovits.start()

    async def stop(self) -> None:
        """Finish the queued work, then stop both stages."""
        await self.gpt.stop()
        await self.sovits.stop()

    async def semantic(self, job: SentenceJob | PreparedSentence, deadline: float) -> Semantic:
        """One sentence through the GPT stage (prepared already, or prepared on the way)."""
        if isinstance(self.gpt, ContinuousGpt):
            if isinstance(job, PreparedSentence):
                return await self.gpt.submit(job, _remaining(deadline))
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
        self, jobs: Sequence[SentenceJob], deadline: float, chunking: TokenChunking | None = None
    ) -> AsyncGenerator[SentenceAudio, None]:
        """Sentences in order, each as soon as it is ready; with ``chunking``, each in token chunks
        while its GPT row still decodes (the last chunk of a sentence has ``final`` set).

        Sentence i+1's GPT decode is queued when sentence i's finishes, so it overlaps sentence
        i's (last) SoVITS decode; decoding them all in one batch would hold the first audio back
        until the longest sentence is done. The stream's :class:`~.playback.Playback` ranks its
        SoVITS work: its first audio ahead of other work, the rest by when its listener runs out.
        """
        if not jobs:
            return
        playback = Playback(self.sample_rate, ranked=self._sovits_order == "playback")
        current: _Decoding | None = None
        pending: _Decoding | None = self._begin(jobs[0], 0, deadline, chunking)
        try:
            for index in range(len(jobs)):
                current, pending = pending, None
                assert current is not None

                def decoded(after: int = index) -> None:
                    nonlocal pending
                    if after + 1 < len(jobs):
                        pending = self._begin(jobs[after + 1], after + 1, deadline, chunking)

                async for piece in self._sentence_audio(current, deadline, decoded, playback):
                    playback.sent(piece.wave.size)
                    yield piece
        finally:
            for decoding in (current, pending):
                if decoding is not None:
                    decoding.cancel()

    def _begin(
        self, job: SentenceJob, index: int, deadline: float, chunking: TokenChunking | None
    ) -> _Decoding:
        """Queue the stream's sentence ``index``'s GPT decode (with a feed of its ids when it
        streams in chunks)."""
        if chunking is None:
            return _Decoding(asyncio.create_task(self.semantic(job, deadline)))
        feed = TokenFeed(self.synthesizer.chunker(chunking.rule_for(index)), asyncio.get_running_loop())

        async def prepared_then_decoded() -> Semantic:
            prepared = await asyncio.to_thread(self._prepare, replace(job, sink=feed))
            decoding.streamed = StreamedSentence(prepared, chunking.overlap_tokens)
            return await self.semantic(prepared, deadline)

        decoding = _Decoding(asyncio.create_task(prepared_then_decoded()), feed)
        return decoding

    async def _sentence_audio(
        self, decoding: _Decoding, deadline: float, decoded: Callable[[], None], playback: Playback
    ) -> AsyncGenerator[SentenceAudio, None]:
        """One sentence's audio: whole once decoded, or every chunk its feed cuts, then the rest.

        ``decoded`` is called once the sentence's GPT decode is over.
        """
        feed = decoding.feed
        if feed is None:
            semantic = await decoding.task
            decoded()
            yield await self._vocode(semantic, deadline, playback)
            return
        sent = 0  # chunks decoded so far
        while not decoding.task.done():
            if sent < len(feed.cuts):
                piece = await self._chunk(decoding, feed.chunk(sent), deadline, playback)
                sent += 1
                if piece.wave.size:
                    yield piece
                continue
            await _chunk_or_end(feed, decoding.task, deadline)
        semantic = decoding.task.result()
        decoded()
        tokens = semantic.sentence.tokens
        for cut in feed.cuts[sent:]:
            piece = await self._chunk(decoding, tokens[:cut], deadline, playback)
            if piece.wave.size:
                yield piece
        yield await self._chunk(
            decoding, tokens, deadline, playback, final=True, batch_size=semantic.batch_size
        )

    async def _chunk(
        self,
        decoding: _Decoding,
        tokens: torch.Tensor,
        deadline: float,
        playback: Playback,
        *,
        final: bool = False,
        batch_size: int = 0,
    ) -> SentenceAudio:
        """A streamed sentence's new audio for its ids so far (through the SoVITS stage)."""
        assert decoding.streamed is not None  # set before the sentence's decode started
        return await self._vocode(ChunkJob(decoding.streamed, tokens, final, batch_size), deadline, playback)

    async def _vocode(self, item: Semantic | ChunkJob, deadline: float, playback: Playback) -> SentenceAudio:
        """A stream's next audio through the SoVITS stage, ranked by its playback."""
        urgency, due = playback.rank()
        return await self.sovits.submit(item, _remaining(deadline), urgency=urgency, due=due)


async def _chunk_or_end(feed: TokenFeed, task: asyncio.Task[Semantic], deadline: float) -> None:
    """Wait until the feed cuts a chunk or the sentence's decode ends (whichever is first)."""
    waiter = asyncio.ensure_future(feed.wait())
    try:
        done, _ = await asyncio.wait(
            {task, waiter}, timeout=_remaining(deadline), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        waiter.cancel()
    if not done:
        raise TimeoutError("request deadline passed")


def _first_leaf(group: BaseExceptionGroup[Exception]) -> Exception:
    """The first real error inside a (possibly nested) exception group."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
