"""From checked options and a speaker to audio bytes: admission, cache, engine, encoding.

Every API ends here after converting its request into :class:`~voice_server.options.
SynthesisOptions`. What can fail before audio exists (model loaded, format, queue room, the
speaker's files, the first sentence) fails before a response starts, so a client gets a JSON
error with a status. A stream that fails after its first chunk raises :class:`StreamAbortedError`
from its chunk iterator: the HTTP layer then aborts the connection, so a truncated stream can
never pass for a complete one.

A stream sends each sentence whole, or (``stream_chunks`` fixed or silence) in token chunks while
the sentence still decodes; either way a sentence's last piece is followed by the fragment
silence. Token-chunk audio is not the whole-sentence decode (see :mod:`gpt_sovits.sovits.chunked`),
so it is cached under its own key, which names the chunking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from gpt_sovits.pipeline import SentenceJob, SynthesisParams, VoiceReference
from gpt_sovits.t2s.chunking import ChunkRule
from voice_server.audio_format import FORMATS, encode, output_rate, wav_header
from voice_server.cache import AudioCache, cache_key
from voice_server.engine.chunks import TokenChunking
from voice_server.engine.model import VoiceModel
from voice_server.engine.registry import ModelNotLoadedError, ModelRegistry
from voice_server.engine.results import SentenceAudio
from voice_server.errors import (
    NOT_READY_RETRY_S,
    ApiError,
    InternalError,
    NotReadyError,
    OverloadedError,
    UnsupportedError,
    translate,
)
from voice_server.metrics import ServerMetrics
from voice_server.options import SynthesisOptions
from voice_server.speakers import Speaker

log = logging.getLogger(__name__)

#: Formats that can be sent before the total length is known.
STREAMABLE_FORMATS = ("wav", "pcm")
#: Options that say how audio travels, not what it is (the chunking is keyed apart, when it matters).
_STREAM_FIELDS = {"stream", "stream_chunks", "chunk_tokens", "first_chunk_tokens", "overlap_tokens"}


class StreamAbortedError(Exception):
    """A stream failed after its first chunk; the connection must be aborted, not closed."""


@dataclass
class SynthesisReport:
    """What one synthesis did, for the request's access log line (filled in as it runs)."""

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
    report: SynthesisReport


@dataclass(frozen=True)
class AudioStream:
    """A streamed response: its media type and rate are known before the first chunk.

    ``release`` must be awaited once the response is over, even if it never started: it frees
    the admission slot and the model lease (idempotent; on the event loop).
    """

    chunks: AsyncIterator[bytes]
    media_type: str
    sample_rate: int
    report: SynthesisReport
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
    report: SynthesisReport
    chunking: TokenChunking | None = None


class SynthesisService:
    """Admission, cache and accounting around the engine; one per application."""

    def __init__(
        self,
        registry: ModelRegistry,
        cache: AudioCache,
        metrics: ServerMetrics,
        *,
        max_queue: int,
        request_timeout_s: float,
        max_tokens_per_sentence: int | None,
        first_chunk_tokens: int | None = None,
    ) -> None:
        self.registry = registry
        self.cache = cache
        self.metrics = metrics
        self.max_queue = max_queue
        self.request_timeout_s = request_timeout_s
        self.max_tokens_per_sentence = max_tokens_per_sentence
        #: A token-chunk stream's first chunk when its request does not say (None: chunk_tokens).
        self.first_chunk_tokens = first_chunk_tokens
        self.accepting = True
        #: Requests admitted and not yet finished (streams from admission to their last chunk).
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
            raise NotReadyError("the server is shutting down", retry_after_s=NOT_READY_RETRY_S)
        try:
            model = self.registry.get(speaker.model)
        except ModelNotLoadedError:
            raise NotReadyError(
                f"model {speaker.model!r} of speaker {speaker.id!r} is not loaded",
                retry_after_s=NOT_READY_RETRY_S,
            ) from None
        if model.failure is not None:
            raise _api_error(model.failure)
        return model

    def _cache_key(
        self, options: SynthesisOptions, speaker: Speaker, model: VoiceModel, chunking: TokenChunking | None
    ) -> str | None:
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
            options=options.model_dump(mode="json", exclude=_STREAM_FIELDS),
            # Whole sentences (answers and sentence streams) share audio; token chunks differ.
            chunks=None
            if chunking is None
            else [
                chunking.rule.kind,
                chunking.rule.min_tokens,
                chunking.rule.shortest(first=True),
                chunking.overlap_tokens,
            ],
            max_tokens=self.max_tokens_per_sentence,
        )

    def _token_chunking(self, options: SynthesisOptions) -> TokenChunking | None:
        """How a token-chunk stream is cut; None when its audio comes a whole sentence at a time.

        The first chunk is the request's ``first_chunk_tokens``, else the shorter of the server's
        default and ``chunk_tokens`` (a default longer than the chunks would only delay them)."""
        kind = options.stream_chunks
        if not options.stream or kind == "sentence":
            return None
        first = options.first_chunk_tokens
        if first is None and self.first_chunk_tokens is not None:
            first = min(self.first_chunk_tokens, options.chunk_tokens)
        return TokenChunking(ChunkRule(kind, options.chunk_tokens, first), options.overlap_tokens)

    def _plan(self, options: SynthesisOptions, speaker: Speaker, one_off_voice: bool, store: bool) -> _Plan:
        """Check everything that can be checked before work starts; raises :class:`ApiError`.

        A one-off voice (an upload) keeps its features apart, so that they never evict the
        speakers', and its audio is never cached (it could never be asked for again); ``store``
        False keeps a speaker's audio out of the cache (the warm-up's, whose features are kept).
        """
        if options.stream and options.format not in STREAMABLE_FORMATS:
            raise UnsupportedError(
                f"streaming sends {' or '.join(STREAMABLE_FORMATS)}; {options.format} needs the "
                "whole audio first (ask without streaming)",
                field="format",
            )
        model = self._model(speaker)
        reference = VoiceReference(
            speaker.ref_audio, speaker.prompt_text, speaker.prompt_language, one_off=one_off_voice
        )
        try:
            jobs = model.jobs(options.text, reference, self.params(options))
        except ValueError as err:
            raise UnsupportedError(str(err)) from None
        except Exception as err:
            raise _api_error(err) from None
        try:
            chunking = self._token_chunking(options)
        except ValueError as err:
            raise UnsupportedError(str(err)) from None
        gap = np.zeros(round(model.sample_rate * options.fragment_interval_s), dtype=np.float32)
        out_rate = output_rate(options.format, model.sample_rate, options.sample_rate)
        key = self._cache_key(options, speaker, model, chunking) if store and not one_off_voice else None
        report = SynthesisReport(speaker=speaker.id, model=speaker.model, text_chars=len(options.text))
        return _Plan(options, model, jobs, gap, out_rate, key, report, chunking)

    def _check_room(self, model: VoiceModel) -> None:
        """429 when ``max_queue`` requests are in progress already."""
        if self.active >= self.max_queue:
            raise OverloadedError(
                f"{self.active} requests are in progress (limit {self.max_queue}); retry later",
                retry_after_s=model.retry_after_s(),
            )

    def _admit(self, model: VoiceModel) -> Callable[[], None]:
        """Count a request against ``max_queue`` from now; returns its (idempotent) release."""
        self._check_room(model)
        self.active += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.active -= 1

        return release

    @contextmanager
    def _admitted(self, model: VoiceModel) -> Iterator[None]:
        release = self._admit(model)
        try:
            yield
        finally:
            release()

    def _account(self, plan: _Plan, pieces: list[SentenceAudio]) -> None:
        samples = sum(p.wave.shape[0] + (plan.fragment.shape[0] if p.final else 0) for p in pieces)
        audio_s = samples / plan.model.sample_rate
        report = plan.report
        report.sentences += sum(p.final for p in pieces)
        report.audio_s += audio_s
        report.batch_size = max([report.batch_size, *(p.batch_size for p in pieces)])
        self.metrics.audio_seconds.inc(audio_s)

    def _observe_speed(self, report: SynthesisReport, spent_s: float) -> None:
        if report.audio_s > 0:
            self.metrics.real_time_factor.observe(spent_s / report.audio_s)

    def _cached(self, plan: _Plan) -> bytes | None:
        if plan.key is None:
            return None
        body = self.cache.get(plan.key)
        if body is None:
            self.metrics.cache_misses.inc()
            return None
        self.metrics.cache_hits.inc()
        plan.report.cache_hit = True
        return body

    def _store(self, plan: _Plan, body: bytes) -> None:
        if plan.key is not None:
            self.cache.put(plan.key, body)

    def _join(self, plan: _Plan, pieces: list[SentenceAudio]) -> np.ndarray:
        return np.concatenate([_with_gap(plan, piece) for piece in pieces]).astype(np.float32, copy=False)

    # --- whole responses ----------------------------------------------------------------------

    async def synthesize(
        self, options: SynthesisOptions, speaker: Speaker, *, one_off_voice: bool = False, store: bool = True
    ) -> AudioResult:
        """The whole audio of a request (from the cache when repeated with a fixed seed)."""
        plan = self._plan(options, speaker, one_off_voice, store)
        media_type = FORMATS[options.format].media_type
        cached = self._cached(plan)
        if cached is not None:
            return AudioResult(cached, media_type, plan.out_rate, plan.report)
        with self._admitted(plan.model):
            started = time.monotonic()
            lease = plan.model.lease()
            try:
                pieces = await plan.model.sentences(plan.jobs, started + self.request_timeout_s)
            except Exception as err:
                raise _api_error(err, speaker) from None
            finally:
                lease.release()
            self._account(plan, pieces)
            self._observe_speed(plan.report, time.monotonic() - started)
            wave = self._join(plan, pieces)
            body = await asyncio.to_thread(
                encode, wave, plan.model.sample_rate, options.format, plan.out_rate
            )
        self._store(plan, body)
        return AudioResult(body, media_type, plan.out_rate, plan.report)

    # --- streaming ----------------------------------------------------------------------------

    async def stream(
        self, options: SynthesisOptions, speaker: Speaker, *, one_off_voice: bool = False, store: bool = True
    ) -> AudioStream:
        """Audio sentence by sentence, or in token chunks; a WAV stream starts with a header of
        unknown length.

        The request is admitted (it counts against ``max_queue`` and holds its model) from this
        call until ``release``; the first piece (sentence or chunk) is synthesised before this
        returns, so its failure is still an error answer rather than a broken stream.
        """
        plan = self._plan(options, speaker, one_off_voice, store)
        media_type = FORMATS[options.format].media_type
        cached = self._cached(plan)
        if cached is not None:
            return AudioStream(
                single_chunk(cached), media_type, plan.out_rate, plan.report, release=lambda: None
            )
        release_slot = self._admit(plan.model)
        lease = plan.model.lease()

        def release() -> None:
            lease.release()
            release_slot()

        started = time.monotonic()
        pieces = plan.model.stream(plan.jobs, started + self.request_timeout_s, plan.chunking)
        try:
            first = await anext(pieces)
        except BaseException as err:
            await pieces.aclose()
            release()
            if isinstance(err, Exception):
                raise _api_error(err, speaker) from None
            raise
        chunks = self._stream_chunks(plan, first, pieces, started, release)
        return AudioStream(chunks, media_type, plan.out_rate, plan.report, release)

    async def _stream_chunks(
        self,
        plan: _Plan,
        first: SentenceAudio,
        rest: AsyncGenerator[SentenceAudio, None],
        started: float,
        release: Callable[[], None],
    ) -> AsyncIterator[bytes]:
        options = plan.options
        rate = plan.model.sample_rate
        header = wav_header(plan.out_rate) if options.format == "wav" else b""
        sent: list[SentenceAudio] = []
        piece: SentenceAudio | None = first
        try:
            while piece is not None:
                pcm = await asyncio.to_thread(encode, _with_gap(plan, piece), rate, "pcm", plan.out_rate)
                self._account(plan, [piece])
                sent.append(piece)
                yield header + pcm
                header = b""
                try:
                    piece = await anext(rest)
                except StopAsyncIteration:
                    piece = None
                except Exception as err:
                    api = translate(err)
                    log.error(
                        "stream aborted",
                        extra={"error": str(api or err), "sentences_sent": len(sent)},
                        exc_info=api is None,
                    )
                    raise StreamAbortedError(str(api or err)) from err
            self._observe_speed(plan.report, time.monotonic() - started)
        finally:
            await rest.aclose()
            release()
        if plan.key is not None:
            wave = self._join(plan, sent)
            self._store(plan, await asyncio.to_thread(encode, wave, rate, options.format, plan.out_rate))


def _with_gap(plan: _Plan, piece: SentenceAudio) -> np.ndarray:
    """A piece's samples, followed by the fragment silence when it ends its sentence."""
    return np.concatenate([piece.wave, plan.fragment]) if piece.final else piece.wave


def _api_error(err: BaseException, speaker: Speaker | None = None) -> ApiError:
    """The answer for a failure below; a speaker's unusable files are named by its id."""
    api = translate(err, field=None if speaker is None else "speaker_id")
    if api is None:
        log.error("synthesis failed", exc_info=err)
        return InternalError("internal error; see the server log")
    if speaker is not None and api.field == "speaker_id":
        api.message = f"speaker {speaker.id!r} cannot be used: {api.message}"
    return api


async def single_chunk(body: bytes) -> AsyncIterator[bytes]:
    """A whole body as a one-chunk stream."""
    yield body
