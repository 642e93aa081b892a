"""``POST /v1/audio/speech``: the OpenAI speech API, so OpenAI clients work unchanged.

wav and pcm are streamed in token chunks (every 16 semantic ids, while each sentence still
decodes); ``stream_format: "sse"`` sends ``speech.audio.delta`` events (base64 audio) and a
closing ``speech.audio.done``. Other formats
need the whole audio before encoding, so they arrive in one piece (as one delta with SSE).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from voice_server.api.auth import require_api_key
from voice_server.api.respond import AUDIO_RESPONSES, SSE_MEDIA_TYPE, respond
from voice_server.api.schemas import OpenAISpeechRequest
from voice_server.api.speaker_lookup import resolve_speaker
from voice_server.api.state_access import server_state
from voice_server.synthesis import STREAMABLE_FORMATS

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_api_key)])

_RESPONSES = {
    **AUDIO_RESPONSES,
    200: {
        **AUDIO_RESPONSES[200],
        "content": {**AUDIO_RESPONSES[200]["content"], SSE_MEDIA_TYPE: {"schema": {"type": "string"}}},
    },
}


@router.post(
    "/audio/speech",
    response_class=Response,
    responses=_RESPONSES,
    summary="OpenAI-compatible speech: `voice` names a speaker, `model` is accepted as given.",
)
async def speech(body: OpenAISpeechRequest, request: Request) -> Response:
    state = server_state(request)
    speaker = resolve_speaker(state.speakers, body.voice_id(), None, "voice")
    stream = body.response_format in STREAMABLE_FORMATS
    options = body.to_options(speaker.id, state.settings.limits(), stream=stream)
    return await respond(request, options, speaker, sse=body.stream_format == "sse")
