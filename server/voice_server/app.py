"""create_app(settings): the FastAPI application with its routes and lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from voice_server.settings import ServerSettings

log = logging.getLogger(__name__)


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the application; nothing heavy happens until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("server starting", extra={"port": settings.port, "demo": settings.demo})
        app.state.ready = True
        yield
        app.state.ready = False
        log.info("server stopped")

    app = FastAPI(title="gpt-sovits-k8s voice server", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.ready = False

    @app.get("/health", tags=["ops"], summary="Liveness: the process is alive.")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"], summary="Readiness: model loaded, warmed up, not draining.")
    async def ready() -> JSONResponse:
        if app.state.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready"}, status_code=503)

    return app
