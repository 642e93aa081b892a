"""The loaded models by name: load, swap and unload without disturbing requests in flight.

Loading builds a new :class:`~voice_server.engine.model.VoiceModel` off the event loop and swaps
the entry in one assignment; the replaced model keeps serving the requests that hold a lease on
it and stops once none is left.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from gpt_sovits.pipeline import Synthesizer
from gpt_sovits.text.settings import TextSettings
from voice_server.engine.batcher import BatcherFailedError
from voice_server.engine.model import BatchingSettings, ModelSpec, VoiceModel
from voice_server.metrics import ServerMetrics

log = logging.getLogger(__name__)


class ModelNotLoadedError(LookupError):
    """No model of that name is loaded."""


class ModelRegistry:
    """The loaded models by name; loading or replacing one never disturbs requests in flight.

    ``on_failure`` hears of a model stage that died: the process can no longer serve it.
    """

    def __init__(
        self,
        batching: BatchingSettings,
        metrics: ServerMetrics,
        device: str,
        precision: str,
        retire_timeout_s: float,
        text_settings: TextSettings | None = None,
        on_failure: Callable[[str], None] = lambda _: None,
        cuda_graphs: bool = False,
    ) -> None:
        self._batching = batching
        self._cuda_graphs = cuda_graphs
        self._retire_timeout_s = retire_timeout_s
        self._metrics = metrics
        self._device = device
        self._precision = precision
        self._text_settings = text_settings
        #: Told when a model stage dies (the server then reports unhealthy).
        self.on_failure = on_failure
        self._models: dict[str, VoiceModel] = {}
        self._generations = itertools.count(1)
        self._load_lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    def get(self, name: str) -> VoiceModel:
        """The current model called ``name``; :class:`ModelNotLoadedError` when there is none."""
        model = self._models.get(name)
        if model is None:
            raise ModelNotLoadedError(name)
        return model

    def models(self) -> list[VoiceModel]:
        """Every loaded model, by name."""
        return [self._models[name] for name in sorted(self._models)]

    @property
    def queue_depth(self) -> int:
        """Sentences waiting in all models' stages."""
        return sum(model.queue_depth for model in self._models.values())

    async def load(self, name: str, spec: ModelSpec) -> VoiceModel:
        """Load ``spec`` off the event loop and make it the model called ``name``.

        Raises the model package's error when a file is unusable; the previous model, if any,
        then stays in service.
        """
        async with self._load_lock:
            started = time.monotonic()
            synthesizer = await asyncio.to_thread(self._load_synthesizer, spec)
            model = VoiceModel(
                name,
                spec,
                synthesizer,
                generation=next(self._generations),
                batching=self._batching,
                metrics=self._metrics,
                on_failure=lambda failure: self._stage_failed(name, failure),
            )
            model.start()
            previous = self._models.get(name)
            self._models[name] = model
            if previous is not None:
                self._retire(previous)
            self._metrics.models_loaded.set(len(self._models))
            log.info(
                "model loaded",
                extra={
                    "model": name,
                    "generation": model.generation,
                    "gpt_weights": str(spec.gpt_weights),
                    "sovits_weights": str(spec.sovits_weights),
                    "device": str(synthesizer.device),
                    "seconds": round(time.monotonic() - started, 2),
                },
            )
            return model

    async def replace_weights(
        self, name: str, *, gpt_weights: Path | None = None, sovits_weights: Path | None = None
    ) -> VoiceModel:
        """Reload model ``name`` with its GPT or SoVITS file changed (api_v2's set_*_weights)."""
        spec = self.get(name).spec
        changed = replace(
            spec,
            gpt_weights=gpt_weights or spec.gpt_weights,
            sovits_weights=sovits_weights or spec.sovits_weights,
        )
        return await self.load(name, changed)

    async def reload_all(self) -> None:
        """Load every model again from its files (new generations; requests in flight finish)."""
        for model in self.models():
            await self.load(model.name, model.spec)

    def _load_synthesizer(self, spec: ModelSpec) -> Synthesizer:
        """Read the files (on a worker thread: it takes seconds to minutes)."""
        return Synthesizer.load(
            spec.gpt_weights,
            spec.sovits_weights,
            spec.bert_dir,
            spec.hubert_dir,
            self._device,
            self._precision,
            sv_weights=spec.sv_weights,
            text_settings=self._text_settings,
            cuda_graphs=self._cuda_graphs,
        )

    def _stage_failed(self, name: str, failure: BatcherFailedError) -> None:
        # Logged by the batcher (with the traceback) and by the server state: not a third time.
        self.on_failure(f"model {name!r}: {failure}")

    async def unload(self, name: str) -> None:
        """Remove the model; its queued requests still finish."""
        async with self._load_lock:
            model = self._models.pop(name, None)
            if model is None:
                raise ModelNotLoadedError(name)
            self._retire(model)
            self._metrics.models_loaded.set(len(self._models))
        log.info("model unloaded", extra={"model": name})

    def _retire(self, model: VoiceModel) -> None:
        """Stop a replaced model once the requests holding it are done."""

        async def retire() -> None:
            if not await model.wait_idle(self._retire_timeout_s):
                log.warning("retiring a model still in use", extra={"model": model.name})
            await model.stop()

        task = asyncio.get_running_loop().create_task(retire(), name=f"retire-{model.name}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def stop(self) -> None:
        """Finish all queued work and stop every model."""
        models, self._models = list(self._models.values()), {}
        await asyncio.gather(*(model.stop() for model in models), *self._retiring)
