"""The HTTP side of a synthesis: run it while the client is connected, answer with audio."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from voice_server.audio_format import FORMATS
from voice_server.schemas import ErrorBody, SynthesisOptions
from voice_server.speakers import Speaker
from voice_server.synthesis import SynthesisRecord, SynthesisService

T = TypeVar("T")

#: What a client that went away is logged with (nginx's convention; never sent).
CLIENT_CLOSED = 499
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
            (422, "Invalid value, unsupported language or format."),
            (429, "Queue full; see Retry-After."),
            (503, "Model not ready, shutting down, or deadline exceeded; see Retry-After."),
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


def _audio_headers(rate: int, record: SynthesisRecord) -> dict[str, str]:
    return {"X-Sample-Rate": str(rate), "X-Cache": "hit" if record.cache_hit else "miss"}


async def respond(
    request: Request,
    options: SynthesisOptions,
    speaker: Speaker,
    *,
    cacheable: bool = True,
    cleanup: Callable[[], None] | None = None,
) -> Response:
    """Synthesise for ``request`` and answer with the audio, whole or streamed.

    ``cleanup`` runs once the response is finished (or failed), e.g. to delete an upload.
    """
    service: SynthesisService = request.app.state.synthesis
    record = SynthesisRecord(speaker=speaker.id, model=speaker.model, text_chars=len(options.text))
    request.state.synthesis = record
    handed_off = False  # a streamed response runs ``cleanup`` itself, after its last chunk
    try:
        if options.stream:
            stream = service.stream(options, speaker, record, cacheable=cacheable)
            handed_off = True

            def finish() -> None:
                stream.release()
                if cleanup is not None:
                    cleanup()

            return StreamingResponse(
                stream.chunks,
                media_type=stream.media_type,
                headers=_audio_headers(stream.sample_rate, record),
                background=BackgroundTask(finish),
            )
        try:
            result = await until_disconnected(
                request, service.synthesize(options, speaker, record, cacheable=cacheable)
            )
        except ClientGoneError:
            return Response(status_code=CLIENT_CLOSED)
        return Response(
            result.body,
            media_type=result.media_type,
            headers={**_audio_headers(result.sample_rate, record), "X-Batch-Size": str(record.batch_size)},
        )
    finally:
        if cleanup is not None and not handed_off:
            cleanup()
