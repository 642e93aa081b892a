"""``POST /api/v1/tts`` (JSON) and ``POST /api/v1/tts/upload`` (multipart, an ad-hoc voice)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from voice_server.auth import require_api_key
from voice_server.options import check_text, from_v1
from voice_server.respond import AUDIO_RESPONSES, respond
from voice_server.schemas import SynthesisOptions, TtsRequest, UploadTtsForm
from voice_server.speakers import Speaker
from voice_server.uploads import read_bounded, store_clip

router = APIRouter(prefix="/api/v1", tags=["synthesis"], dependencies=[Depends(require_api_key)])


@router.post(
    "/tts",
    response_class=Response,
    responses=AUDIO_RESPONSES,
    summary="Speak a text with a configured speaker.",
)
async def tts(body: TtsRequest, request: Request) -> Response:
    state = request.app.state
    options, speaker = from_v1(body, state.speakers, state.settings.max_text_length)
    return await respond(request, options, speaker)


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
    settings = request.app.state.settings
    text = check_text(form.text, settings.max_text_length, "text")
    data = await read_bounded(ref_audio, settings.max_upload_bytes)
    clip = await asyncio.to_thread(store_clip, data)
    speaker = Speaker(
        id="upload",
        ref_audio=clip.path,
        prompt_text=form.prompt_text,
        prompt_language=form.prompt_language,
        model=form.model,
    )
    options = SynthesisOptions(
        text=text,
        speaker_id=speaker.id,
        language=form.language,
        format=form.format,
        sample_rate=form.sample_rate,
        speed=form.speed,
        top_k=form.top_k,
        top_p=form.top_p,
        temperature=form.temperature,
        repetition_penalty=form.repetition_penalty,
        seed=form.seed,
        text_split_method=form.text_split_method,
        stream=form.stream,
    )
    # Every upload is a new voice: caching its audio could never hit.
    return await respond(request, options, speaker, cacheable=False, cleanup=clip.remove)
