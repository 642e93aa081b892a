"""``GET /api/v1/speakers``: the voices this server can speak with."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from voice_server.api.auth import require_api_key
from voice_server.api.schemas import SpeakerInfo, SpeakersResponse
from voice_server.api.state_access import server_state

router = APIRouter(prefix="/api/v1", tags=["speakers"], dependencies=[Depends(require_api_key)])


@router.get("/speakers", response_model=SpeakersResponse, summary="List the speakers.")
async def list_speakers(request: Request) -> SpeakersResponse:
    state = server_state(request)
    state.speakers.reload_if_changed()
    versions = {model.name: model.version for model in state.registry.models()}
    return SpeakersResponse(
        speakers=[
            SpeakerInfo(
                id=s.id,
                name=s.name,
                language=s.prompt_language,
                model=s.model,
                model_version=versions.get(s.model),
                problem=state.speaker_problems.get(s.id),
            )
            for s in state.speakers.all()
        ]
    )
