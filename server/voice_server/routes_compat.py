"""``GET|POST /tts``: the official GPT-SoVITS api_v2 parameters, so existing clients work unchanged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from voice_server.auth import require_api_key
from voice_server.options import from_compat
from voice_server.respond import AUDIO_RESPONSES, respond
from voice_server.schemas import CompatTtsRequest

router = APIRouter(tags=["compat"], dependencies=[Depends(require_api_key)])


async def _answer(body: CompatTtsRequest, request: Request) -> Response:
    state = request.app.state
    settings = state.settings
    options, speaker = from_compat(body, state.speakers, settings.model_dir, settings.max_text_length)
    return await respond(request, options, speaker)


@router.get("/tts", response_class=Response, responses=AUDIO_RESPONSES, summary="api_v2 synthesis (query).")
async def tts_get(params: Annotated[CompatTtsRequest, Query()], request: Request) -> Response:
    return await _answer(params, request)


@router.post("/tts", response_class=Response, responses=AUDIO_RESPONSES, summary="api_v2 synthesis (JSON).")
async def tts_post(body: CompatTtsRequest, request: Request) -> Response:
    return await _answer(body, request)
