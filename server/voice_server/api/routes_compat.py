"""The official GPT-SoVITS api_v2 routes, so existing clients work unchanged.

``GET|POST /tts`` synthesises. ``GET /set_gpt_weights`` and ``GET /set_sovits_weights`` swap the
default model's weights through the model registry (atomically: a request in flight finishes on
the weights it started with); the path must stay inside the model folder. ``GET|POST /control``
with ``restart`` reloads every model and the speakers in place (no process re-exec: the socket
and requests in flight stay), and with ``exit`` drains and exits the process (Kubernetes then
starts a new container). These three are behind the API key when one is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from voice_server.api.auth import require_api_key
from voice_server.api.respond import AUDIO_RESPONSES, respond
from voice_server.api.schemas import CompatTtsRequest, ErrorBody
from voice_server.api.speaker_lookup import compat_speaker
from voice_server.api.state_access import server_state
from voice_server.errors import (
    InvalidInputError,
    NotImplementedHereError,
    NotReadyError,
    UnsupportedError,
    translate,
)
from voice_server.lifecycle import DEFAULT_MODEL
from voice_server.model_files import resolve_in
from voice_server.state import ServerState

router = APIRouter(tags=["compat"], dependencies=[Depends(require_api_key)])

_CONTROL_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (400, 401, 404, 422, 501, 503)
}


class CompatMessage(BaseModel):
    """api_v2's answer to a control call."""

    message: str


class ControlRequest(BaseModel):
    """``POST /control``."""

    command: Literal["restart", "exit"] = Field(description="restart: reload models; exit: drain and stop.")


async def _answer(body: CompatTtsRequest, request: Request) -> Response:
    state = server_state(request)
    settings = state.settings
    speaker = compat_speaker(
        state.speakers,
        body.ref_audio_path,
        body.prompt_text,
        body.prompt_lang or body.text_lang,
        settings.model_dir,
    )
    return await respond(request, body.to_options(speaker.id, settings.limits()), speaker)


@router.get("/tts", response_class=Response, responses=AUDIO_RESPONSES, summary="api_v2 synthesis (query).")
async def tts_get(params: Annotated[CompatTtsRequest, Query()], request: Request) -> Response:
    return await _answer(params, request)


@router.post("/tts", response_class=Response, responses=AUDIO_RESPONSES, summary="api_v2 synthesis (JSON).")
async def tts_post(body: CompatTtsRequest, request: Request) -> Response:
    return await _answer(body, request)


def _weights_root(state: ServerState) -> Path:
    settings = state.settings
    root = settings.model_dir or (settings.demo_dir if settings.demo else None)
    if root is None:
        raise UnsupportedError(
            "weights can be swapped only inside a model folder: start the server with --model-dir",
            field="weights_path",
        )
    return root


async def _swap(
    state: ServerState, which: Literal["gpt_weights", "sovits_weights"], path: str
) -> CompatMessage:
    resolved = resolve_in(_weights_root(state), path, "weights_path")
    if not resolved.is_file():
        raise InvalidInputError(
            f"weights_path {path!r} is not a file in the model folder", field="weights_path"
        )
    try:
        await state.registry.replace_weights(DEFAULT_MODEL, **{which: resolved})
    except LookupError:
        raise NotReadyError("no default model is loaded yet", retry_after_s=5) from None
    except Exception as err:
        # The previous weights are still serving.
        api = translate(err, field="weights_path")
        if api is None:
            raise
        raise api from None
    return CompatMessage(message="success")


@router.get(
    "/set_gpt_weights",
    response_model=CompatMessage,
    responses=_CONTROL_RESPONSES,
    summary="api_v2: load another GPT checkpoint for the default model.",
)
async def set_gpt_weights(
    weights_path: Annotated[str, Query(min_length=1)], request: Request
) -> CompatMessage:
    return await _swap(server_state(request), "gpt_weights", weights_path)


@router.get(
    "/set_sovits_weights",
    response_model=CompatMessage,
    responses=_CONTROL_RESPONSES,
    summary="api_v2: load another SoVITS checkpoint for the default model.",
)
async def set_sovits_weights(
    weights_path: Annotated[str, Query(min_length=1)], request: Request
) -> CompatMessage:
    return await _swap(server_state(request), "sovits_weights", weights_path)


async def _control(state: ServerState, command: str) -> JSONResponse:
    if command == "restart":
        state.speakers.reload_if_changed()
        try:
            await state.registry.reload_all()
        except Exception as err:
            api = translate(err)
            if api is None:
                raise
            raise api from None
        return JSONResponse({"message": "restarted"})
    if state.request_exit is None:
        raise NotImplementedHereError("this server cannot stop itself (it is embedded)", field="command")
    state.request_exit()
    return JSONResponse({"message": "exiting"})


@router.get("/control", responses=_CONTROL_RESPONSES, summary="api_v2: restart (reload models) or exit.")
async def control_get(
    command: Annotated[Literal["restart", "exit"], Query()], request: Request
) -> JSONResponse:
    return await _control(server_state(request), command)


@router.post("/control", responses=_CONTROL_RESPONSES, summary="api_v2: restart (reload models) or exit.")
async def control_post(body: ControlRequest, request: Request) -> JSONResponse:
    return await _control(server_state(request), body.command)
