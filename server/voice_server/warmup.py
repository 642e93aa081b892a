"""Warm-up: one short synthesis per speaker before the server reports ready.

It computes and caches every speaker's reference features and runs each model once, so the first
real request is not the slow one. A speaker whose synthesis fails is logged by id and left out;
the others still serve.
"""

from __future__ import annotations

import logging

from voice_server.errors import ApiError
from voice_server.schemas import SynthesisOptions
from voice_server.speakers import SpeakerRegistry
from voice_server.synthesis import SynthesisRecord, SynthesisService

log = logging.getLogger(__name__)

#: A short sentence per transcript language; anything else warms up in English.
WARMUP_TEXT = {"zh": "你好。", "all_zh": "你好。", "en": "Hello."}


async def warm_up(service: SynthesisService, speakers: SpeakerRegistry) -> list[str]:
    """Synthesise once per speaker; returns the ids whose warm-up failed."""
    failed: list[str] = []
    for speaker in speakers.all():
        language = speaker.prompt_language if speaker.prompt_language in WARMUP_TEXT else "en"
        options = SynthesisOptions(
            text=WARMUP_TEXT[language], speaker_id=speaker.id, language=language, seed=0
        )
        record = SynthesisRecord(speaker=speaker.id, model=speaker.model, text_chars=len(options.text))
        try:
            await service.synthesize(options, speaker, record, cacheable=False)
        except ApiError as err:
            failed.append(speaker.id)
            log.error("warm-up failed", extra={"speaker": speaker.id, "error": err.message})
            continue
        log.info(
            "warmed up",
            extra={"speaker": speaker.id, "model": speaker.model, "audio_s": round(record.audio_s, 2)},
        )
    if not speakers.all():
        log.warning("no speakers configured: nothing to warm up")
    return failed
