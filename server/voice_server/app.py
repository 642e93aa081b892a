"""create_app(settings): the FastAPI application with its routes, error handlers and lifespan.

The model loads after the server starts listening: ``/health`` answers at once, ``/ready`` turns
200 only once the default model is loaded and every speaker warmed up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gpt_sovits.demo import DEMO_MAX_TOKENS_PER_SENTENCE
from voice_server import (
    routes_admin,
    routes_compat,
    routes_openai,
    routes_ops,
    routes_speakers,
    routes_tts,
)
from voice_server.auth import load_api_key
from voice_server.body_limit import BodyLimitMiddleware
from voice_server.cache import AudioCache
from voice_server.engine import BatchingSettings, Engine
from voice_server.errors import ApiError, InvalidInputError, to_response
from voice_server.lifecycle import start_drain, start_models
from voice_server.metrics import ServerMetrics
from voice_server.request_context import RequestContextMiddleware
from voice_server.settings import ServerSettings
from voice_server.speakers import SpeakerRegistry
from voice_server.synthesis import SynthesisService

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
        # An unparsable body has a character offset where a field name would be.
        field = "body" if first.get("type") == "json_invalid" else _field_of(tuple(first.get("loc", ())))
        return _error_json(InvalidInputError(f"{field}: {first.get('msg', 'invalid value')}", field=field))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(err.status_code, f"http_{err.status_code}")
        body = {"error": {"code": code, "message": str(err.detail), "field": None}}
        return JSONResponse(body, status_code=err.status_code, headers=getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, err: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=err)
        body = {"error": {"code": "internal", "message": "internal error; see the server log", "field": None}}
        return JSONResponse(body, status_code=500)


def _init_state(app: FastAPI, settings: ServerSettings) -> None:
    state = app.state
    metrics = ServerMetrics()
    state.settings = settings
    state.metrics = metrics
    state.ready = False
    state.draining = False
    state.phase = "starting"
    state.load_error = None
    state.api_key = load_api_key(settings)
    base_dir = settings.speakers_file.parent if settings.speakers_file else None
    state.speakers = SpeakerRegistry(settings.speakers_file, base_dir=settings.model_dir or base_dir)
    state.cache = AudioCache(
        settings.cache_max_entries if settings.cache_enabled else 0, settings.cache_max_bytes
    )
    batching = BatchingSettings(
        max_batch_size=settings.max_batch_size,
        max_delay_s=settings.max_batch_delay_ms / 1000,
        max_queue=settings.max_queue,
    )
    state.engine = Engine(
        batching, metrics, settings.device, settings.precision, retire_timeout_s=settings.request_timeout_s
    )
    max_tokens = settings.max_tokens_per_sentence
    if max_tokens is None and settings.demo:
        max_tokens = DEMO_MAX_TOKENS_PER_SENTENCE
    state.synthesis = SynthesisService(
        state.engine,
        state.cache,
        metrics,
        max_queue=settings.max_queue,
        request_timeout_s=settings.request_timeout_s,
        max_tokens_per_sentence=max_tokens,
    )
    metrics.queue_depth.set_function(lambda: state.engine.queue_depth)
    metrics.in_flight.set_function(lambda: state.synthesis.active)
    metrics.cache_bytes.set_function(lambda: state.cache.size_bytes)


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the application; the model loads in the background once serving starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("server starting", extra={"port": settings.port, "demo": settings.demo})
        loader = asyncio.create_task(start_models(app.state), name="load-models")
        yield
        start_drain(app.state)
        loader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loader
        await app.state.engine.stop()
        log.info("server stopped")

    app = FastAPI(
        title="gpt-sovits-k8s voice server",
        version="0.1.0",
        lifespan=lifespan,
        description="GPT-SoVITS v2 text-to-speech: native, OpenAI-compatible and api_v2-compatible routes.",
    )
    _init_state(app, settings)
    _add_exception_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    routers: list[Any] = [routes_ops, routes_speakers, routes_tts, routes_openai, routes_compat, routes_admin]
    for module in routers:
        app.include_router(module.router)
    return app
