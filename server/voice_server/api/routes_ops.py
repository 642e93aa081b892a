"""Probes and metrics: always open, never behind auth, answered even while the model is busy.

- ``/startup``: 200 once start-up is over (loaded and warm, no model, or failed), 503 before. The
  startup probe: a load that hangs is restarted after the probe's budget; a failed one at once,
  by the liveness probe.
- ``/health``: liveness, 503 when loading failed or a model stage died (the body says why).
- ``/ready``: readiness, 200 only when ready; the body lists each model and any misconfigured
  speaker.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voice_server.api.state_access import server_state
from voice_server.state import Phase, ServerState

router = APIRouter(tags=["ops"])

_PROBE_503: dict[int | str, dict[str, Any]] = {503: {"description": "Not (yet) usable; the body says why."}}


def _status_body(state: ServerState) -> dict[str, Any]:
    body: dict[str, Any] = {"status": state.phase.value}
    if state.failure is not None:
        body["error"] = state.failure
    body["models"] = {
        model.name: {"generation": model.generation, "version": model.version}
        for model in state.registry.models()
    }
    if state.speaker_problems:
        body["misconfigured_speakers"] = dict(state.speaker_problems)
    return body


@router.get("/startup", summary="Startup: 200 once start-up is over (well or badly).", responses=_PROBE_503)
async def startup(request: Request) -> JSONResponse:
    state = server_state(request)
    return JSONResponse(_status_body(state), status_code=200 if state.phase.started else 503)


@router.get(
    "/health",
    summary="Liveness: the process can serve (503 once loading failed or a model stage died).",
    responses=_PROBE_503,
)
async def health(request: Request) -> JSONResponse:
    state = server_state(request)
    if state.phase is Phase.FAILED:
        # A restart is the remedy Kubernetes offers; the log and this body say what broke.
        return JSONResponse({"status": "failed", "error": state.failure}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get(
    "/ready", summary="Readiness: model loaded, warmed up, not draining or failed.", responses=_PROBE_503
)
async def ready(request: Request) -> JSONResponse:
    state = server_state(request)
    return JSONResponse(_status_body(state), status_code=200 if state.phase is Phase.READY else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(server_state(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)
