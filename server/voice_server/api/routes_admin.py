"""Admin API (API-key protected): list, load or swap, and unload voice models without a restart."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from voice_server.api.auth import require_admin_key
from voice_server.api.schemas import ErrorBody, ModelInfo, ModelLoadRequest, ModelsResponse
from voice_server.api.state_access import server_state
from voice_server.engine.model import VoiceModel
from voice_server.engine.registry import ModelNotLoadedError
from voice_server.errors import NotFoundError, translate
from voice_server.model_files import spec_from_request
from voice_server.state import Phase

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin_key)],
    responses={status: {"model": ErrorBody} for status in (400, 401, 403, 404, 422)},
)


def _info(model: VoiceModel) -> ModelInfo:
    return ModelInfo(
        name=model.name,
        generation=model.generation,
        version=model.version,
        gpt_weights=str(model.spec.gpt_weights),
        sovits_weights=str(model.spec.sovits_weights),
        device=str(model.synthesizer.device),
        sample_rate=model.sample_rate,
    )


@router.get("/models", response_model=ModelsResponse, summary="The loaded models.")
async def list_models(request: Request) -> ModelsResponse:
    return ModelsResponse(models=[_info(model) for model in server_state(request).registry.models()])


@router.put(
    "/models/{name}",
    response_model=ModelInfo,
    summary="Load weights as model `name`, replacing it if loaded; answers once it serves.",
)
async def load_model(name: str, body: ModelLoadRequest, request: Request) -> ModelInfo:
    state = server_state(request)
    try:
        default = state.registry.get("default").spec
    except ModelNotLoadedError:
        default = None
    spec = spec_from_request(state.settings, default, **body.model_dump())
    try:
        model = await state.registry.load(name, spec)
    except Exception as err:
        # The previous model, if any, is still serving.
        api = translate(err)
        if api is None:
            raise
        raise api from None
    if state.phase is Phase.NO_MODEL:
        state.set_phase(Phase.READY)  # a server started without weights serves once it has some
    return _info(model)


@router.delete("/models/{name}", status_code=204, response_class=Response, summary="Unload model `name`.")
async def unload_model(name: str, request: Request) -> Response:
    try:
        await server_state(request).registry.unload(name)
    except ModelNotLoadedError:
        raise NotFoundError(f"no model called {name!r} is loaded", field="name") from None
    return Response(status_code=204)
