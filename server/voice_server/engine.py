"""Loaded voice models, each with its two batching stages, and the registry that swaps them.

A :class:`VoiceModel` is one GPT/SoVITS weight pair loaded into a :class:`~gpt_sovits.pipeline.
Synthesizer`, plus a GPT batcher (sentences of concurrent requests decode together) and a SoVITS
batcher (semantic ids → audio). It is never modified after it is built. Loading new weights
builds a new ``VoiceModel`` and swaps the registry entry in one assignment; a request resolves
its model once, at the start, and keeps that object to the end. So a swap never mixes two voices
in one response (the official server's shared mutable model does), and requests already queued on
the old model finish on it before its batchers stop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gpt_sovits.errors import GptSovitsError
from gpt_sovits.pipeline import SemanticSentence, SentenceJob, Synthesizer
from voice_server.batcher import Batcher
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


@dataclass(frozen=True)
class BatchingSettings:
    """How the stages group work (from the server settings)."""

    max_batch_size: int
    max_delay_s: float
    max_queue: int


@dataclass(frozen=True)
class Semantic:
    """The GPT stage's result for one sentence, with the size of the batch it decoded in."""

    sentence: SemanticSentence
    batch_size: int


@dataclass(frozen=True)
class SentenceAudio:
    """One synthesised sentence."""

    wave: np.ndarray
    batch_size: int


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
        """Give the model back."""
        if not self._released:
            self._released = True
            self.model._unhold()


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
    ) -> None:
        self.name = name
        self.spec = spec
        self.synthesizer = synthesizer
        self.generation = generation
        self._metrics = metrics
        self._holders = 0
        self._idle = asyncio.Event()
        self._idle.set()
        stage_queue = batching.max_queue * _SENTENCES_PER_REQUEST_BOUND
        self.gpt: Batcher[SentenceJob, Semantic] = Batcher(
            self._gpt_batch,
            max_batch_size=batching.max_batch_size,
            max_delay_s=batching.max_delay_s,
            max_queue=stage_queue,
            on_batch=self._observer("gpt"),
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
            name=f"sovits-{name}",
        )

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

    def _hold(self) -> None:
        self._holders += 1
        self._idle.clear()

    def _unhold(self) -> None:
        self._holders -= 1
        if self._holders == 0:
            self._idle.set()

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
            for wait in waits:
                self._metrics.queue_wait.labels(stage=stage).observe(wait)

        return observe

    def _record_gpu_memory(self) -> None:
        device = self.synthesizer.device
        if device.type == "cuda":
            self._metrics.gpu_memory_bytes.set(torch.cuda.memory_allocated(device))

    def _gpt_batch(self, jobs: Sequence[SentenceJob]) -> list[Semantic | BaseException]:
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

    async def sentence(self, job: SentenceJob, deadline: float) -> SentenceAudio:
        """One sentence through both stages."""
        semantic = await self.gpt.submit(job, _remaining(deadline))
        return await self.sovits.submit(semantic, _remaining(deadline))

    async def sentences(self, jobs: Sequence[SentenceJob], deadline: float) -> list[SentenceAudio]:
        """All sentences of a request at once (they decode in one GPT batch); results in order.

        The first failure cancels the request's other sentences.
        """
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self.sentence(job, deadline)) for job in jobs]
        return [task.result() for task in tasks]

    async def stream(self, jobs: Sequence[SentenceJob], deadline: float) -> AsyncIterator[SentenceAudio]:
        """Sentences in order, each as soon as it is ready.

        Sentence i+1's GPT decode is queued when sentence i's finishes, so it overlaps sentence
        i's SoVITS decode; decoding them all in one batch would hold the first audio back until
        the longest sentence is done.
        """
        if not jobs:
            return
        pending: asyncio.Task[Semantic] | None = asyncio.create_task(
            self.gpt.submit(jobs[0], _remaining(deadline))
        )
        try:
            for index in range(len(jobs)):
                assert pending is not None
                semantic = await pending
                pending = None
                if index + 1 < len(jobs):
                    pending = asyncio.create_task(self.gpt.submit(jobs[index + 1], _remaining(deadline)))
                yield await self.sovits.submit(semantic, _remaining(deadline))
        finally:
            if pending is not None:
                pending.cancel()


class ModelNotLoadedError(LookupError):
    """No model of that name is loaded."""


class Engine:
    """The loaded models by name; loading or replacing one never disturbs requests in flight."""

    def __init__(
        self,
        batching: BatchingSettings,
        metrics: ServerMetrics,
        device: str,
        precision: str,
        retire_timeout_s: float,
    ) -> None:
        self._batching = batching
        self._retire_timeout_s = retire_timeout_s
        self._metrics = metrics
        self._device = device
        self._precision = precision
        self._models: dict[str, VoiceModel] = {}
        self._generations = itertools.count(1)
        self._load_lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    def get(self, name: str) -> VoiceModel:
        """The current model called ``name``; :class:`ModelNotLoadedError` when there is none."""
        model = self._models.get(name)
        if model is None:
            raise ModelNotLoadedError(name)
        return model

    def models(self) -> list[VoiceModel]:
        """Every loaded model, by name."""
        return [self._models[name] for name in sorted(self._models)]

    @property
    def queue_depth(self) -> int:
        """Sentences waiting in all models' stages."""
        return sum(model.queue_depth for model in self._models.values())

    async def load(self, name: str, spec: ModelSpec) -> VoiceModel:
        """Load ``spec`` off the event loop and make it the model called ``name``.

        Raises the model package's error when a file is unusable; the previous model, if any,
        then stays in service.
        """
        async with self._load_lock:
            started = time.monotonic()
            synthesizer = await asyncio.to_thread(
                Synthesizer.load,
                spec.gpt_weights,
                spec.sovits_weights,
                spec.bert_dir,
                spec.hubert_dir,
                self._device,
                self._precision,
            )
            model = VoiceModel(
                name,
                spec,
                synthesizer,
                generation=next(self._generations),
                batching=self._batching,
                metrics=self._metrics,
            )
            model.start()
            previous = self._models.get(name)
            self._models[name] = model
            if previous is not None:
                self._retire(previous)
            log.info(
                "model loaded",
                extra={
                    "model": name,
                    "generation": model.generation,
                    "gpt_weights": str(spec.gpt_weights),
                    "sovits_weights": str(spec.sovits_weights),
                    "device": str(synthesizer.device),
                    "seconds": round(time.monotonic() - started, 2),
                },
            )
            return model

    async def unload(self, name: str) -> None:
        """Remove the model; its queued requests still finish."""
        async with self._load_lock:
            model = self._models.pop(name, None)
            if model is None:
                raise ModelNotLoadedError(name)
            self._retire(model)
        log.info("model unloaded", extra={"model": name})

    def _retire(self, model: VoiceModel) -> None:
        """Stop a replaced model once the requests holding it are done."""

        async def retire() -> None:
            if not await model.wait_idle(self._retire_timeout_s):
                log.warning("retiring a model still in use", extra={"model": model.name})
            await model.stop()

        task = asyncio.get_running_loop().create_task(retire(), name=f"retire-{model.name}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def stop(self) -> None:
        """Finish all queued work and stop every model."""
        models, self._models = list(self._models.values()), {}
        await asyncio.gather(*(model.stop() for model in models), *self._retiring)
