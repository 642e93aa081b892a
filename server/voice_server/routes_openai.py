"""``POST /v1/audio/speech``: the OpenAI speech API, so OpenAI clients work unchanged."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from voice_server.auth import require_api_key
from voice_server.options import from_openai
from voice_server.respond import AUDIO_RESPONSES, respond
from voice_server.schemas import OpenAISpeechRequest

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_api_key)])


@router.post(
    "/audio/speech",
    response_class=Response,
    responses=AUDIO_RESPONSES,
    summary="OpenAI-compatible speech: `voice` names a speaker, `model` is accepted as given.",
)
async def speech(body: OpenAISpeechRequest, request: Request) -> Response:
    state = request.app.state
    options, speaker = from_openai(body, state.speakers, state.settings.max_text_length)
    return await respond(request, options, speaker)
