"""``GET /api/v1/speakers``: the voices this server can speak with."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from voice_server.auth import require_api_key
from voice_server.schemas import SpeakerInfo, SpeakersResponse

router = APIRouter(prefix="/api/v1", tags=["speakers"], dependencies=[Depends(require_api_key)])


@router.get("/speakers", response_model=SpeakersResponse, summary="List the speakers.")
async def list_speakers(request: Request) -> SpeakersResponse:
    registry = request.app.state.speakers
    registry.reload_if_changed()
    return SpeakersResponse(
        speakers=[
            SpeakerInfo(id=s.id, name=s.name, language=s.prompt_language, model=s.model)
            for s in registry.all()
        ]
    )
