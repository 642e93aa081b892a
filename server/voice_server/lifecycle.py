"""The server's life: load the default model and warm up, report ready, drain on shutdown.

``app.state.phase`` says where it stands (starting, loading, warming up, ready, no model, failed);
``/ready`` and ``/health`` report it.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.datastructures import State

from gpt_sovits.demo import DEMO_NOTICE, ensure_demo_bundle
from voice_server.engine import ModelSpec
from voice_server.model_files import spec_from_settings
from voice_server.settings import ServerSettings
from voice_server.warmup import warm_up

log = logging.getLogger(__name__)

#: The model speakers use unless they name another.
DEFAULT_MODEL = "default"


def mark_ready(state: State) -> None:
    """Serve synthesis requests from now on (unless draining or broken)."""
    if not state.draining and state.load_error is None:
        state.phase = "ready"
        state.ready = True
        state.metrics.ready.set(1)


async def _default_spec(state: State) -> ModelSpec | None:
    settings: ServerSettings = state.settings
    if not settings.demo:
        return spec_from_settings(settings)
    bundle = await asyncio.to_thread(ensure_demo_bundle, settings.demo_dir)
    log.warning(DEMO_NOTICE, extra={"folder": str(bundle.folder)})
    if settings.speakers_file is None:
        state.speakers.use_file(bundle.speakers_file)
    return ModelSpec(bundle.gpt_weights, bundle.sovits_weights, bundle.bert_dir, bundle.hubert_dir)


async def start_models(state: State) -> None:
    """Load the default model and warm every speaker up, then report ready."""
    try:
        state.phase = "loading"
        spec = await _default_spec(state)
        if spec is None:
            state.phase = "no model"
            log.warning(
                "no model configured: set gpt_weights and sovits_weights, or PUT /admin/models/default"
            )
            return
        await state.engine.load(DEFAULT_MODEL, spec)
        state.metrics.models_loaded.set(len(state.engine.models()))
        if state.settings.warmup:
            state.phase = "warming up"
            await warm_up(state.synthesis, state.speakers)
        mark_ready(state)
        log.info("ready", extra={"models": [m.name for m in state.engine.models()]})
    except asyncio.CancelledError:
        raise
    except Exception as err:
        state.load_error = str(err)
        state.phase = "failed"
        log.error("model load failed", exc_info=err)


def start_drain(state: State) -> None:
    """Readiness off, new synthesis refused with 503; what is in flight carries on."""
    state.draining = True
    state.ready = False
    state.metrics.ready.set(0)
    state.synthesis.accepting = False
