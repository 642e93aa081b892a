"""create_app(settings): the FastAPI application with its state, routes, middleware and lifespan.

The model loads after the server starts listening: ``/startup`` and ``/ready`` turn 200 once the
default model is loaded and every speaker warmed up (see :mod:`voice_server.state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gpt_sovits.demo import DEMO_MAX_TOKENS_PER_SENTENCE
from voice_server.api import routers
from voice_server.api.access_log import AccessLogMiddleware
from voice_server.api.body_limit import BodyLimitMiddleware
from voice_server.api.handlers import add_exception_handlers
from voice_server.api_key import ApiKey
from voice_server.cache import AudioCache
from voice_server.engine.model import BatchingSettings
from voice_server.engine.registry import ModelRegistry
from voice_server.lifecycle import start_models
from voice_server.metrics import ServerMetrics
from voice_server.settings import MiB, ServerSettings
from voice_server.speakers import SpeakerRegistry
from voice_server.state import ServerState
from voice_server.synthesis import SynthesisService

log = logging.getLogger(__name__)


def build_state(settings: ServerSettings) -> ServerState:
    """Every part of one server, wired together (nothing runs yet)."""
    metrics = ServerMetrics()
    base_dir = settings.speakers_file.parent if settings.speakers_file else None
    speakers = SpeakerRegistry(settings.speakers_file, base_dir=settings.model_dir or base_dir)
    cache = AudioCache(settings.cache_max_entries if settings.cache_enabled else 0, settings.cache_max_bytes)
    batching = BatchingSettings(
        max_batch_size=settings.max_batch_size,
        max_delay_s=settings.max_batch_delay_ms / 1000,
        max_queue=settings.max_queue,
        scheduler=settings.scheduler,
        sovits_order=settings.sovits_order,
        sovits_max_batch_size=settings.sovits_max_batch_size,
        cache_budget_bytes=None if settings.gpt_cache_mib is None else int(settings.gpt_cache_mib * MiB),
        prefill_budget=settings.max_prefill_tokens,
    )
    registry = ModelRegistry(
        batching,
        metrics,
        settings.device,
        settings.precision,
        cuda_graphs=settings.cuda_graphs,
        retire_timeout_s=settings.request_timeout_s,
        text_settings=settings.text_settings(),
    )
    max_tokens = settings.max_tokens_per_sentence
    if max_tokens is None and settings.demo:
        max_tokens = DEMO_MAX_TOKENS_PER_SENTENCE
    synthesis = SynthesisService(
        registry,
        cache,
        metrics,
        max_queue=settings.max_queue,
        request_timeout_s=settings.request_timeout_s,
        max_tokens_per_sentence=max_tokens,
        first_chunk_tokens=settings.first_chunk_tokens,
    )
    state = ServerState(
        settings=settings,
        metrics=metrics,
        speakers=speakers,
        cache=cache,
        registry=registry,
        synthesis=synthesis,
        api_key=ApiKey.from_settings(settings),
    )
    registry.on_failure = state.fail  # a dead model stage makes the server unhealthy
    metrics.queue_depth.set_function(lambda: registry.queue_depth)
    metrics.in_flight.set_function(lambda: synthesis.active)
    metrics.cache_bytes.set_function(lambda: cache.size_bytes)
    return state


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the application; the model loads in the background once serving starts."""
    state = build_state(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("server starting", extra={"port": settings.port, "demo": settings.demo})
        loader = asyncio.create_task(start_models(state), name="load-models")
        yield
        state.drain()
        loader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loader
        await state.registry.stop()
        log.info("server stopped")

    app = FastAPI(
        title="gpt-sovits-k8s voice server",
        version="0.1.0",
        lifespan=lifespan,
        description="GPT-SoVITS text-to-speech: native, OpenAI-compatible and api_v2-compatible routes.",
    )
    app.state.server = state
    add_exception_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLogMiddleware, metrics=state.metrics)
    for router in routers():
        app.include_router(router)
    return app
