"""The HTTP side of a synthesis: run it while the client is connected, answer with audio.

Whole answers wait for the audio (and give up, freeing the queue slot, if the client leaves).
Streams answer once the first piece (a token chunk or a sentence) is ready, chunk by chunk
after that, as raw audio or as OpenAI's server-sent events. Releasing a stream (admission slot,
model lease) happens on the event loop, in an async background task, never in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from voice_server.api.access_log import note_synthesis, note_synthesis_request
from voice_server.api.schemas import ErrorBody
from voice_server.api.state_access import server_state
from voice_server.audio_format import FORMATS
from voice_server.errors import MisconfiguredError
from voice_server.options import SynthesisOptions
from voice_server.speakers import Speaker
from voice_server.synthesis import AudioResult, AudioStream, SynthesisReport, single_chunk

T = TypeVar("T")

#: What a client that went away is logged with (nginx's convention; never sent).
CLIENT_CLOSED = 499
SSE_MEDIA_TYPE = "text/event-stream"
# How often a waiting handler checks that its client is still there.
_DISCONNECT_POLL_S = 0.1

#: OpenAPI description of an audio answer and the error answers every synthesis route can give.
AUDIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The audio, in the requested format.",
        "content": {
            spec.media_type: {"schema": {"type": "string", "format": "binary"}} for spec in FORMATS.values()
        },
    },
    **{
        status: {"model": ErrorBody, "description": description}
        for status, description in (
            (400, "The body is not valid JSON."),
            (401, "Missing or wrong API key."),
            (404, "Unknown speaker."),
            (413, "Text or body too long."),
            (422, "Invalid value, unsupported language or format, or a misconfigured speaker."),
            (429, "Queue full; see Retry-After."),
            (500, "A bug; see the server log."),
            (503, "Model not ready, shutting down, engine failed, or deadline exceeded; see Retry-After."),
        )
    },
}


class ClientGoneError(Exception):
    """The client disconnected while its request waited."""


async def until_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``, cancelling it (and freeing its queue slot) if the client goes away."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=_DISCONNECT_POLL_S)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                raise ClientGoneError
    finally:
        if not task.done():
            task.cancel()


def _audio_headers(rate: int, report: SynthesisReport) -> dict[str, str]:
    return {"X-Sample-Rate": str(rate), "X-Cache": "hit" if report.cache_hit else "miss"}


async def respond(
    request: Request,
    options: SynthesisOptions,
    speaker: Speaker,
    *,
    one_off_voice: bool = False,
    cleanup: Callable[[], None] | None = None,
    sse: bool = False,
) -> Response:
    """Synthesise for ``request`` and answer with the audio: whole, streamed, or as SSE events.

    ``one_off_voice``: the speaker is an upload (see :meth:`SynthesisService.synthesize`).
    ``cleanup`` runs once the response is finished (or failed), e.g. to delete an upload.
    """
    note_synthesis_request(request.scope)
    state = server_state(request)
    service = state.synthesis
    handed_off = False  # a streamed response runs ``cleanup`` itself, after its last chunk
    try:
        try:
            if options.stream:
                stream = await until_disconnected(
                    request, service.stream(options, speaker, one_off_voice=one_off_voice)
                )
            else:
                result = await until_disconnected(
                    request, service.synthesize(options, speaker, one_off_voice=one_off_voice)
                )
        except ClientGoneError:
            return Response(status_code=CLIENT_CLOSED)
        except MisconfiguredError as err:
            state.note_speaker_problem(speaker.id, err.message)
            raise
        state.clear_speaker_problem(speaker.id)
        if options.stream:
            handed_off = True
            return _streamed(request, stream, cleanup, sse)
        return _whole(request, result, sse)
    finally:
        if cleanup is not None and not handed_off:
            cleanup()


def _whole(request: Request, result: AudioResult, sse: bool) -> Response:
    note_synthesis(request.scope, result.report)
    headers = _audio_headers(result.sample_rate, result.report)
    if sse:
        return StreamingResponse(
            _sse_events(single_chunk(result.body)), media_type=SSE_MEDIA_TYPE, headers=headers
        )
    return Response(
        result.body,
        media_type=result.media_type,
        headers={**headers, "X-Batch-Size": str(result.report.batch_size)},
    )


def _streamed(
    request: Request, stream: AudioStream, cleanup: Callable[[], None] | None, sse: bool
) -> StreamingResponse:
    note_synthesis(request.scope, stream.report)

    async def finish() -> None:  # async: Starlette runs it on the event loop
        stream.release()
        if cleanup is not None:
            cleanup()

    chunks = _sse_events(stream.chunks) if sse else stream.chunks
    return StreamingResponse(
        chunks,
        media_type=SSE_MEDIA_TYPE if sse else stream.media_type,
        headers=_audio_headers(stream.sample_rate, stream.report),
        background=BackgroundTask(finish),
    )


async def _sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """OpenAI's speech events: one ``speech.audio.delta`` per chunk (base64), then ``speech.audio.done``."""
    async for chunk in chunks:
        yield _event({"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode()})
    yield _event(
        {"type": "speech.audio.done", "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}}
    )


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
