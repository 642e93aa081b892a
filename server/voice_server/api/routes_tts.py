"""``POST /api/v1/tts`` (JSON) and ``POST /api/v1/tts/upload`` (multipart, an ad-hoc voice)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from voice_server.api.auth import require_api_key
from voice_server.api.respond import AUDIO_RESPONSES, respond
from voice_server.api.schemas import TtsRequest, UploadTtsForm
from voice_server.api.speaker_lookup import resolve_speaker
from voice_server.api.state_access import server_state
from voice_server.api.uploads import read_bounded
from voice_server.speakers import Speaker
from voice_server.uploads import store_clip

router = APIRouter(prefix="/api/v1", tags=["synthesis"], dependencies=[Depends(require_api_key)])


@router.post(
    "/tts",
    response_class=Response,
    responses=AUDIO_RESPONSES,
    summary="Speak a text with a configured speaker.",
)
async def tts(body: TtsRequest, request: Request) -> Response:
    state = server_state(request)
    speaker = resolve_speaker(state.speakers, body.speaker_id, body.speaker, "speaker_id")
    return await respond(request, body.to_options(speaker.id, state.settings.limits()), speaker)


@router.post(
    "/tts/upload",
    response_class=Response,
    responses=AUDIO_RESPONSES,
    summary="Speak a text in the voice of an uploaded 3–10 s reference clip.",
)
async def tts_upload(
    request: Request,
    form: Annotated[UploadTtsForm, Form()],
    ref_audio: Annotated[UploadFile, File(description="Reference clip (wav, flac, ogg, mp3), 3–10 s.")],
) -> Response:
    settings = server_state(request).settings
    options = form.to_options("upload", settings.limits())
    data = await read_bounded(ref_audio, settings.max_upload_bytes)
    clip = await asyncio.to_thread(store_clip, data)
    speaker = Speaker(
        id="upload",
        ref_audio=clip.path,
        prompt_text=form.prompt_text,
        prompt_language=form.prompt_language,
        model=form.model,
    )
    return await respond(request, options, speaker, one_off_voice=True, cleanup=clip.remove)
