"""The server's life: load the default model, warm every speaker up, report ready.

The warm-up synthesises one short sentence per speaker, so the first real request is not the
slow one and a speaker whose files cannot work is found at start: it is logged once, listed in
``/ready``'s body and counted in ``gsv_speakers_misconfigured``; the other speakers still serve,
and requests for it get a non-retryable error naming the file. Then ``warmup_streams`` longer
sentences are streamed at once: concurrent streams run shapes a lone sentence never does (GPT
batches, packed prefills, token-chunk windows), and the kernels of each shape are prepared at its
first use, which would otherwise fall on the first streams a new pod serves.
"""

from __future__ import annotations

import asyncio
import logging
import time

from gpt_sovits.demo import DEMO_NOTICE, ensure_demo_bundle
from voice_server.engine.model import ModelSpec
from voice_server.errors import ApiError, MisconfiguredError
from voice_server.model_files import spec_from_settings
from voice_server.options import SynthesisOptions
from voice_server.speakers import Speaker
from voice_server.state import Phase, ServerState

log = logging.getLogger(__name__)

#: The model speakers use unless they name another.
DEFAULT_MODEL = "default"
#: A short sentence per transcript language (the official codes); anything else warms up in English.
WARMUP_TEXT = {
    "zh": "你好。",
    "all_zh": "你好。",
    "en": "Hello.",
    "ja": "こんにちは。",
    "all_ja": "こんにちは。",
    "ko": "안녕하세요.",
    "all_ko": "안녕하세요.",
    "yue": "你好。",
    "all_yue": "你好。",
}
#: One sentence per transcript language (no inner stop: one sentence), a few token chunks long.
WARMUP_STREAM_TEXT = {
    "zh": "欢迎使用语音合成服务祝您收听愉快。",
    "en": "Welcome to the speech service and enjoy the stream.",
    "ja": "音声合成サービスへようこそお楽しみください。",
    "ko": "음성 합성 서비스에 오신 것을 환영합니다.",
    "yue": "歡迎使用語音合成服務祝你收聽愉快。",
}


async def _default_spec(state: ServerState) -> ModelSpec | None:
    settings = state.settings
    if not settings.demo:
        return spec_from_settings(settings)
    bundle = await asyncio.to_thread(
        ensure_demo_bundle, settings.demo_dir, version=settings.demo_version, size=settings.demo_size
    )
    log.warning(DEMO_NOTICE, extra={"folder": str(bundle.folder)})
    if settings.speakers_file is None:
        state.speakers.use_file(bundle.speakers_file)
    return ModelSpec(
        bundle.gpt_weights, bundle.sovits_weights, bundle.bert_dir, bundle.hubert_dir, bundle.sv_weights
    )


async def warm_up(state: ServerState) -> None:
    """Synthesise once per speaker; speakers whose files cannot work go to the state's problems."""
    for speaker in state.speakers.all():
        language = speaker.prompt_language if speaker.prompt_language in WARMUP_TEXT else "en"
        options = SynthesisOptions(
            text=WARMUP_TEXT[language], speaker_id=speaker.id, language=language, seed=0
        )
        try:
            result = await state.synthesis.synthesize(options, speaker, store=False)
        except MisconfiguredError as err:
            state.note_speaker_problem(speaker.id, err.message)
            log.error("speaker misconfigured", extra={"speaker": speaker.id, "error": err.message})
            continue
        except ApiError as err:
            # Not the speaker's files (e.g. the model is being swapped): it may well work later.
            log.warning("warm-up failed", extra={"speaker": speaker.id, "error": err.message})
            continue
        log.info(
            "warmed up",
            extra={"speaker": speaker.id, "model": speaker.model, "audio_s": round(result.report.audio_s, 2)},
        )
    if not state.speakers.all():
        log.warning("no speakers configured: nothing to warm up")


def stream_warmup_language(speaker: Speaker) -> str:
    """The speaker's transcript language without its ``all_`` prefix; English when unknown."""
    language = speaker.prompt_language.removeprefix("all_")
    return language if language in WARMUP_STREAM_TEXT else "en"


async def _drain(state: ServerState, options: SynthesisOptions, speaker: Speaker) -> int:
    """Stream one request to its end; the number of chunks it sent."""
    stream = await state.synthesis.stream(options, speaker, store=False)
    try:
        return sum([1 async for _ in stream.chunks])
    finally:
        stream.release()


async def warm_up_streams(state: ServerState) -> None:
    """Stream ``warmup_streams`` sentences at once for the first speaker that works."""
    count = state.settings.warmup_streams
    speaker = next((s for s in state.speakers.all() if s.id not in state.speaker_problems), None)
    if count == 0 or speaker is None:
        return
    language = stream_warmup_language(speaker)
    requests = [
        SynthesisOptions(
            text=WARMUP_STREAM_TEXT[language],
            speaker_id=speaker.id,
            language=language,
            seed=seed,
            stream=True,
            format="pcm",
        )
        for seed in range(count)
    ]
    started = time.monotonic()
    results = await asyncio.gather(
        *(_drain(state, options, speaker) for options in requests), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    for err in failed:
        if not isinstance(err, Exception):
            raise err
    if failed:
        # The per-speaker warm-up has already checked the files: this is not worth failing for.
        log.warning(
            "stream warm-up failed",
            extra={"speaker": speaker.id, "failed": len(failed), "error": str(failed[0])},
        )
        return
    log.info(
        "streams warmed up",
        extra={
            "speaker": speaker.id,
            "streams": count,
            "chunks": sum(r for r in results if isinstance(r, int)),
            "seconds": round(time.monotonic() - started, 2),
        },
    )


async def start_models(state: ServerState) -> None:
    """Load the default model and warm every speaker up, then report ready."""
    try:
        state.set_phase(Phase.LOADING)
        spec = await _default_spec(state)
        if spec is None:
            state.set_phase(Phase.NO_MODEL)
            log.warning(
                "no model configured: set gpt_weights and sovits_weights, or PUT /admin/models/default"
            )
            return
        await state.registry.load(DEFAULT_MODEL, spec)
        if state.settings.warmup:
            state.set_phase(Phase.WARMING_UP)
            await warm_up(state)
            await warm_up_streams(state)
        state.set_phase(Phase.READY)
        log.info(
            "ready",
            extra={
                "models": [m.name for m in state.registry.models()],
                "misconfigured_speakers": sorted(state.speaker_problems),
            },
        )
    except asyncio.CancelledError:
        raise
    except Exception as err:
        log.error("model load failed", exc_info=err)
        state.fail(f"loading the model failed: {err}")
