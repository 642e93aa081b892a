"""Probes and metrics: always open, never behind auth, answered even while the model is busy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["ops"])


_PROBE_503: dict[int | str, dict[str, Any]] = {503: {"description": "Not (yet) usable; the body says why."}}


@router.get(
    "/health",
    summary="Liveness: the process is alive (503 once loading the model failed).",
    responses=_PROBE_503,
)
async def health(request: Request) -> JSONResponse:
    error = request.app.state.load_error
    if error is not None:
        # A restart is the remedy Kubernetes offers; the log and this body say what broke.
        return JSONResponse({"status": "failed", "error": error}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/ready", summary="Readiness: model loaded, warmed up, not draining.", responses=_PROBE_503)
async def ready(request: Request) -> JSONResponse:
    state = request.app.state
    if state.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    if not state.ready:
        return JSONResponse({"status": state.phase}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get(
    "/metrics",
    summary="Prometheus metrics.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
