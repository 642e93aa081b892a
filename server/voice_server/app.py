"""create_app(settings): the FastAPI application with its routes, error handlers and lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voice_server import routes_ops, routes_speakers
from voice_server.auth import load_api_key
from voice_server.body_limit import BodyLimitMiddleware
from voice_server.cache import AudioCache
from voice_server.errors import ApiError, InvalidInputError, to_response
from voice_server.metrics import ServerMetrics
from voice_server.request_context import make_middleware
from voice_server.settings import ServerSettings
from voice_server.speakers import SpeakerRegistry

log = logging.getLogger(__name__)


# Error codes of the statuses the framework raises itself (routing, body limit).
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def _error_json(err: ApiError) -> JSONResponse:
    response = to_response(err)
    return JSONResponse(response.body, status_code=response.status, headers=response.headers)


def _field_of(loc: tuple[int | str, ...]) -> str:
    """``("body", "speed")`` → ``speed``; the field a client must fix."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        return _error_json(err)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]
        field = _field_of(tuple(first.get("loc", ())))
        return _error_json(InvalidInputError(f"{field}: {first.get('msg', 'invalid value')}", field=field))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(err.status_code, f"http_{err.status_code}")
        body = {"error": {"code": code, "message": str(err.detail), "field": None}}
        return JSONResponse(body, status_code=err.status_code, headers=getattr(err, "headers", None))


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the application; the model loads in the lifespan, not at import."""
    metrics = ServerMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("server starting", extra={"port": settings.port, "demo": settings.demo})
        app.state.ready = True
        metrics.ready.set(1)
        yield
        app.state.draining = True
        app.state.ready = False
        metrics.ready.set(0)
        log.info("server stopped")

    app = FastAPI(title="gpt-sovits-k8s voice server", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.ready = False
    app.state.draining = False
    app.state.api_key = load_api_key(settings)
    base_dir = settings.speakers_file.parent if settings.speakers_file else None
    app.state.speakers = SpeakerRegistry(settings.speakers_file, base_dir=settings.model_dir or base_dir)
    app.state.cache = AudioCache(
        settings.cache_max_entries if settings.cache_enabled else 0, settings.cache_max_bytes
    )
    _add_exception_handlers(app)
    app.middleware("http")(make_middleware(metrics))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.include_router(routes_ops.router)
    app.include_router(routes_speakers.router)
    return app
