"""From validated options and a speaker to audio bytes: admission, cache, engine, encoding.

Every API (``/api/v1/tts``, ``/v1/audio/speech``, ``/tts``, uploads) ends here after turning its
request into :class:`~voice_server.schemas.SynthesisOptions`. Checks that can fail (model loaded,
language, text, format, queue room) run before the response starts, so a client always gets a
JSON error with a status rather than a truncated stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from gpt_sovits.errors import GptSovitsError
from gpt_sovits.pipeline import SentenceJob, SynthesisParams, VoiceReference
from voice_server.audio_format import FORMATS, encode, output_rate, wav_header
from voice_server.batcher import BatcherOverloadedError, BatcherStoppedError
from voice_server.cache import AudioCache, cache_key
from voice_server.engine import Engine, ModelLease, ModelNotLoadedError, SentenceAudio, VoiceModel
from voice_server.errors import (
    ApiError,
    DeadlineExceededError,
    NotReadyError,
    OverloadedError,
    UnsupportedError,
    from_model_error,
)
from voice_server.metrics import ServerMetrics
from voice_server.options import check_language
from voice_server.schemas import SynthesisOptions
from voice_server.speakers import Speaker

log = logging.getLogger(__name__)

#: Formats that can be sent before the total length is known.
STREAMABLE_FORMATS = ("wav", "pcm")
# Retry-After while the server drains or a model loads.
_NOT_READY_RETRY_S = 5.0


@dataclass
class SynthesisRecord:
    """What one request's log line says about its synthesis (kept in ``request.state``)."""

    speaker: str
    model: str
    text_chars: int
    sentences: int = 0
    audio_s: float = 0.0
    batch_size: int = 0  # the largest GPT batch its sentences decoded in
    cache_hit: bool = False

    def log_fields(self) -> dict[str, object]:
        """Fields added to the request's access log line."""
        return {
            "speaker": self.speaker,
            "model": self.model,
            "text_chars": self.text_chars,
            "sentences": self.sentences,
            "audio_s": round(self.audio_s, 3),
            "batch_size": self.batch_size,
            "cache_hit": self.cache_hit,
        }


@dataclass(frozen=True)
class AudioResult:
    """A whole response body."""

    body: bytes
    media_type: str
    sample_rate: int


@dataclass(frozen=True)
class AudioStream:
    """A streamed response: its media type and rate are known before the first chunk.

    ``release`` must run when the response is over, even if it never started (idempotent).
    """

    chunks: AsyncIterator[bytes]
    media_type: str
    sample_rate: int
    release: Callable[[], None]


@dataclass
class _Plan:
    """A checked request: the model it runs on, its sentence jobs, where its audio goes."""

    options: SynthesisOptions
    model: VoiceModel
    jobs: list[SentenceJob]
    fragment: np.ndarray = field(repr=False)
    out_rate: int
    key: str | None


def translate(err: BaseException) -> ApiError | None:
    """The API error for a failure inside the engine, or None for an unexpected one."""
    if isinstance(err, ApiError):
        return err
    if isinstance(err, GptSovitsError):
        return from_model_error(err)
    if isinstance(err, BatcherOverloadedError):
        return OverloadedError("the server is at capacity; retry later", retry_after_s=err.retry_after_s)
    if isinstance(err, TimeoutError):
        return DeadlineExceededError("the request did not finish within its deadline")
    if isinstance(err, BatcherStoppedError):
        return NotReadyError("the model is being replaced or stopped", retry_after_s=_NOT_READY_RETRY_S)
    return None


class SynthesisService:
    """Admission, cache and accounting around the engine; one per application."""

    def __init__(
        self,
        engine: Engine,
        cache: AudioCache,
        metrics: ServerMetrics,
        *,
        max_queue: int,
        request_timeout_s: float,
        max_tokens_per_sentence: int | None,
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.metrics = metrics
        self.max_queue = max_queue
        self.request_timeout_s = request_timeout_s
        self.max_tokens_per_sentence = max_tokens_per_sentence
        self.accepting = True
        self.active = 0

    # --- planning -----------------------------------------------------------------------------

    def params(self, options: SynthesisOptions) -> SynthesisParams:
        """The model's settings for these options."""
        return SynthesisParams(
            language=options.language,
            top_k=options.top_k,
            top_p=options.top_p,
            temperature=options.temperature,
            repetition_penalty=options.repetition_penalty,
            seed=options.seed,
            speed=options.speed,
            text_split_method=options.text_split_method,
            fragment_interval_s=options.fragment_interval_s,
            max_tokens_per_sentence=self.max_tokens_per_sentence,
        )

    def _model(self, speaker: Speaker) -> VoiceModel:
        if not self.accepting:
            raise NotReadyError("the server is shutting down", retry_after_s=_NOT_READY_RETRY_S)
        try:
            return self.engine.get(speaker.model)
        except ModelNotLoadedError:
            raise NotReadyError(
                f"model {speaker.model!r} of speaker {speaker.id!r} is not loaded",
                retry_after_s=_NOT_READY_RETRY_S,
            ) from None

    def _cache_key(self, options: SynthesisOptions, speaker: Speaker, model: VoiceModel) -> str | None:
        # Only a fixed seed makes audio repeatable (SoVITS adds noise even to greedy tokens).
        if options.seed is None or self.cache.max_entries == 0:
            return None
        try:
            stat = speaker.ref_audio.stat()
        except OSError:
            return None
        return cache_key(
            model=model.name,
            generation=model.generation,
            speaker=speaker.model_dump(mode="json"),
            reference=(stat.st_mtime_ns, stat.st_size),
            options=options.model_dump(mode="json", exclude={"stream"}),
            max_tokens=self.max_tokens_per_sentence,
        )

    def plan(self, options: SynthesisOptions, speaker: Speaker, cacheable: bool = True) -> _Plan:
        """Check everything that can be checked before work starts; raises :class:`ApiError`."""
        check_language(options.language)
        if options.stream and options.format not in STREAMABLE_FORMATS:
            raise UnsupportedError(
                f"streaming sends {' or '.join(STREAMABLE_FORMATS)}; {options.format} needs the "
                "whole audio first (ask without streaming)",
                field="format",
            )
        model = self._model(speaker)
        # An uncacheable request is a one-off voice (an upload): its features must not evict speakers'.
        reference = VoiceReference(
            speaker.ref_audio, speaker.prompt_text, speaker.prompt_language, one_off=not cacheable
        )
        try:
            jobs = model.synthesizer.jobs(options.text, reference, self.params(options))
        except GptSovitsError as err:
            raise from_model_error(err) from None
        except ValueError as err:
            raise UnsupportedError(str(err)) from None
        gap = np.zeros(round(model.sample_rate * options.fragment_interval_s), dtype=np.float32)
        out_rate = output_rate(options.format, model.sample_rate, options.sample_rate)
        key = self._cache_key(options, speaker, model) if cacheable else None
        return _Plan(options, model, jobs, gap, out_rate, key)

    def _check_room(self, model: VoiceModel) -> None:
        """429 when ``max_queue`` requests are in progress already."""
        if self.active >= self.max_queue:
            self.metrics.rejected.labels(reason="queue_full").inc()
            raise OverloadedError(
                f"{self.active} requests are in progress (limit {self.max_queue}); retry later",
                retry_after_s=model.gpt.retry_after_s(),
            )

    @contextmanager
    def _admitted(self, model: VoiceModel) -> Iterator[None]:
        """Count the request against ``max_queue`` while it runs; 429 when there is no room."""
        self._check_room(model)
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1

    def _account(self, plan: _Plan, record: SynthesisRecord, pieces: list[SentenceAudio]) -> None:
        samples = sum(p.wave.shape[0] + plan.fragment.shape[0] for p in pieces)
        audio_s = samples / plan.model.sample_rate
        record.sentences += len(pieces)
        record.audio_s += audio_s
        record.batch_size = max([record.batch_size, *(p.batch_size for p in pieces)])
        self.metrics.audio_seconds.inc(audio_s)

    def _observe_speed(self, record: SynthesisRecord, spent_s: float) -> None:
        if record.audio_s > 0:
            self.metrics.real_time_factor.observe(spent_s / record.audio_s)

    def _cached(self, plan: _Plan, record: SynthesisRecord) -> bytes | None:
        if plan.key is None:
            return None
        body = self.cache.get(plan.key)
        if body is None:
            self.metrics.cache_misses.inc()
            return None
        self.metrics.cache_hits.inc()
        record.cache_hit = True
        return body

    def _store(self, plan: _Plan, body: bytes) -> None:
        if plan.key is not None:
            self.cache.put(plan.key, body)

    def _join(self, plan: _Plan, pieces: list[SentenceAudio]) -> np.ndarray:
        parts: list[np.ndarray] = []
        for piece in pieces:
            parts.extend((piece.wave, plan.fragment))
        return np.concatenate(parts).astype(np.float32, copy=False)

    # --- whole responses ----------------------------------------------------------------------

    async def synthesize(
        self, options: SynthesisOptions, speaker: Speaker, record: SynthesisRecord, *, cacheable: bool = True
    ) -> AudioResult:
        """The whole audio of a request (from the cache when repeated with a fixed seed)."""
        plan = self.plan(options, speaker, cacheable)
        media_type = FORMATS[options.format].media_type
        cached = self._cached(plan, record)
        if cached is not None:
            return AudioResult(cached, media_type, plan.out_rate)
        with self._admitted(plan.model):
            started = time.monotonic()
            lease = plan.model.lease()
            try:
                pieces = await plan.model.sentences(plan.jobs, started + self.request_timeout_s)
            except ExceptionGroup as group:
                raise self._first_error(group) from None
            finally:
                lease.release()
            self._account(plan, record, pieces)
            self._observe_speed(record, time.monotonic() - started)
            wave = self._join(plan, pieces)
            body = await asyncio.to_thread(
                encode, wave, plan.model.sample_rate, options.format, plan.out_rate
            )
        self._store(plan, body)
        return AudioResult(body, media_type, plan.out_rate)

    @staticmethod
    def _first_error(group: BaseExceptionGroup[Exception]) -> BaseException:
        errors = list(_leaves(group))
        for err in errors:
            api = translate(err)
            if api is not None:
                return api
        return errors[0]

    # --- streaming ----------------------------------------------------------------------------

    def stream(
        self, options: SynthesisOptions, speaker: Speaker, record: SynthesisRecord, *, cacheable: bool = True
    ) -> AudioStream:
        """Audio sentence by sentence; a WAV stream starts with a header of unknown length."""
        plan = self.plan(options, speaker, cacheable)
        media_type = FORMATS[options.format].media_type
        cached = self._cached(plan, record)
        if cached is not None:
            return AudioStream(_once(cached), media_type, plan.out_rate, release=lambda: None)
        self._check_room(plan.model)  # now, so the client gets a 429 rather than an empty stream
        # Held from now, not from the first chunk: a swap in between must not stop the model.
        lease = plan.model.lease()
        return AudioStream(self._stream_chunks(plan, record, lease), media_type, plan.out_rate, lease.release)

    async def _stream_chunks(
        self, plan: _Plan, record: SynthesisRecord, lease: ModelLease
    ) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream_audio(plan, record):
                yield chunk
        finally:
            lease.release()

    async def _stream_audio(self, plan: _Plan, record: SynthesisRecord) -> AsyncIterator[bytes]:
        options = plan.options
        rate = plan.model.sample_rate
        header = wav_header(plan.out_rate) if options.format == "wav" else b""
        pieces: list[SentenceAudio] = []
        with self._admitted(plan.model):
            started = time.monotonic()
            try:
                async for piece in plan.model.stream(plan.jobs, started + self.request_timeout_s):
                    chunk = np.concatenate([piece.wave, plan.fragment])
                    pcm = await asyncio.to_thread(encode, chunk, rate, "pcm", plan.out_rate)
                    self._account(plan, record, [piece])
                    pieces.append(piece)
                    yield header + pcm
                    header = b""
            except Exception as err:
                # The status line is gone already: all a client can see is a short stream.
                api = translate(err)
                log.error(
                    "stream ended early",
                    extra={"error": str(api or err), "sentences_sent": len(pieces)},
                    exc_info=api is None,
                )
                return
            self._observe_speed(record, time.monotonic() - started)
        if plan.key is not None:
            wave = self._join(plan, pieces)
            self._store(plan, await asyncio.to_thread(encode, wave, rate, options.format, plan.out_rate))


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


def _leaves(group: BaseExceptionGroup[Exception]) -> Iterator[Exception]:
    for err in group.exceptions:
        if isinstance(err, BaseExceptionGroup):
            yield from _leaves(err)
        else:
            yield err
