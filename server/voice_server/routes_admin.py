"""Admin API (API-key protected): list, load or swap, and unload voice models without a restart."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from gpt_sovits.errors import GptSovitsError
from voice_server.auth import require_admin_key
from voice_server.engine import Engine, ModelNotLoadedError, VoiceModel
from voice_server.errors import InvalidInputError, NotFoundError
from voice_server.lifecycle import mark_ready
from voice_server.model_files import spec_from_request
from voice_server.schemas import ErrorBody, ModelInfo, ModelLoadRequest, ModelsResponse

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
        gpt_weights=str(model.spec.gpt_weights),
        sovits_weights=str(model.spec.sovits_weights),
        device=str(model.synthesizer.device),
        sample_rate=model.sample_rate,
    )


@router.get("/models", response_model=ModelsResponse, summary="The loaded models.")
async def list_models(request: Request) -> ModelsResponse:
    engine: Engine = request.app.state.engine
    return ModelsResponse(models=[_info(model) for model in engine.models()])


@router.put(
    "/models/{name}",
    response_model=ModelInfo,
    summary="Load weights as model `name`, replacing it if loaded; answers once it serves.",
)
async def load_model(name: str, body: ModelLoadRequest, request: Request) -> ModelInfo:
    state = request.app.state
    engine: Engine = state.engine
    try:
        default = engine.get("default").spec
    except ModelNotLoadedError:
        default = None
    spec = spec_from_request(body, state.settings, default)
    try:
        model = await engine.load(name, spec)
    except (GptSovitsError, OSError) as err:
        # The previous model, if any, is still serving.
        raise InvalidInputError(f"weights not loaded: {err}") from None
    state.metrics.models_loaded.set(len(engine.models()))
    if state.phase == "no model":
        mark_ready(state)  # a server started without weights serves once it has some
    return _info(model)


@router.delete("/models/{name}", status_code=204, response_class=Response, summary="Unload model `name`.")
async def unload_model(name: str, request: Request) -> Response:
    engine: Engine = request.app.state.engine
    try:
        await engine.unload(name)
    except ModelNotLoadedError:
        raise NotFoundError(f"no model called {name!r} is loaded", field="name") from None
    request.app.state.metrics.models_loaded.set(len(engine.models()))
    return Response(status_code=204)
