"""Turns each API's request into the one :class:`SynthesisOptions`, refusing what cannot work.

Errors name the request field the client must fix.
"""

from __future__ import annotations

from pathlib import Path

from gpt_sovits.text.frontend import KNOWN_LANGUAGES, SUPPORTED_LANGUAGES
from voice_server.errors import InvalidInputError, NotFoundError, PayloadTooLargeError, UnsupportedError
from voice_server.schemas import CompatTtsRequest, OpenAISpeechRequest, SynthesisOptions, TtsRequest
from voice_server.speakers import Speaker, SpeakerRegistry

# Formats libsndfile cannot write; named so the error says what is possible instead.
_UNSUPPORTED_FORMATS = {
    "aac": "aac needs an encoder this server does not ship; use mp3, opus, ogg, flac or wav"
}


def check_language(language: str, field: str = "language") -> str:
    """Refuse a language the text frontend cannot read (422 naming ``field``)."""
    if language in SUPPORTED_LANGUAGES:
        return language
    what = "is not supported by this server" if language in KNOWN_LANGUAGES else "is unknown"
    raise UnsupportedError(
        f"language {language!r} {what}; use one of {', '.join(sorted(SUPPORTED_LANGUAGES))}",
        field=field,
    )


def check_text(text: str, max_length: int, field: str) -> str:
    """Strip the text and enforce the configured length limit."""
    stripped = text.strip()
    if not stripped:
        raise InvalidInputError("text is empty", field=field)
    if len(stripped) > max_length:
        raise PayloadTooLargeError(
            f"text has {len(stripped)} characters; the limit is {max_length}", field=field
        )
    return stripped


def resolve_speaker(
    speakers: SpeakerRegistry, speaker_id: str | None, name: str | None, field: str
) -> Speaker:
    """The speaker a request names by id or by name; 404 when unknown."""
    speakers.reload_if_changed()
    if speaker_id:
        found = speakers.get(speaker_id)
    elif name:
        found = speakers.by_name(name)
    else:
        raise InvalidInputError("name a speaker (speaker_id or speaker)", field=field)
    if found is None:
        raise NotFoundError(f"unknown speaker {speaker_id or name!r}; see GET /api/v1/speakers", field=field)
    return found


def from_v1(
    request: TtsRequest, speakers: SpeakerRegistry, max_text_length: int
) -> tuple[SynthesisOptions, Speaker]:
    """``POST /api/v1/tts``; returns the options and the speaker."""
    speaker = resolve_speaker(speakers, request.speaker_id, request.speaker, "speaker_id")
    options = SynthesisOptions(
        text=check_text(request.text, max_text_length, "text"),
        speaker_id=speaker.id,
        language=check_language(request.language),
        format=request.format,
        sample_rate=request.sample_rate,
        speed=request.speed,
        top_k=request.top_k,
        top_p=request.top_p,
        temperature=request.temperature,
        repetition_penalty=request.repetition_penalty,
        seed=request.seed,
        text_split_method=request.text_split_method,
        stream=request.stream,
    )
    return options, speaker


def from_openai(
    request: OpenAISpeechRequest, speakers: SpeakerRegistry, max_text_length: int
) -> tuple[SynthesisOptions, Speaker]:
    """``POST /v1/audio/speech``: ``voice`` names a speaker; the language is detected."""
    if request.response_format in _UNSUPPORTED_FORMATS:
        raise UnsupportedError(_UNSUPPORTED_FORMATS[request.response_format], field="response_format")
    speaker = resolve_speaker(speakers, request.voice_id(), None, "voice")
    options = SynthesisOptions(
        text=check_text(request.input, max_text_length, "input"),
        speaker_id=speaker.id,
        language="auto",
        format=request.response_format,
        speed=request.speed,
    )
    return options, speaker


def _compat_speaker(request: CompatTtsRequest, speakers: SpeakerRegistry, model_dir: Path | None) -> Speaker:
    """api_v2 names the reference by server path: accept a speaker id, a speaker's refAudio, or a
    file inside the model folder (never elsewhere on the server)."""
    speakers.reload_if_changed()
    wanted = request.ref_audio_path
    known = speakers.get(wanted) or next(
        (s for s in speakers.all() if str(s.ref_audio) == wanted or s.ref_audio.name == wanted), None
    )
    if known is not None:
        return known
    if model_dir is not None:
        root = model_dir.resolve()
        candidate = (root / wanted).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return Speaker(
                id=f"path:{candidate.relative_to(root)}",
                ref_audio=candidate,
                prompt_text=request.prompt_text,
                prompt_language=request.prompt_lang or request.text_lang,
            )
    raise NotFoundError(
        f"ref_audio_path {wanted!r} is neither a speaker nor a file in the model folder",
        field="ref_audio_path",
    )


def from_compat(
    request: CompatTtsRequest, speakers: SpeakerRegistry, model_dir: Path | None, max_text_length: int
) -> tuple[SynthesisOptions, Speaker]:
    """``GET|POST /tts`` with the official api_v2 fields; returns the options and the speaker."""
    if request.media_type in _UNSUPPORTED_FORMATS:
        raise UnsupportedError(_UNSUPPORTED_FORMATS[request.media_type], field="media_type")
    speaker = _compat_speaker(request, speakers, model_dir)
    options = SynthesisOptions(
        text=check_text(request.text, max_text_length, "text"),
        speaker_id=speaker.id,
        language=check_language(request.text_lang.lower(), "text_lang"),
        format="pcm" if request.media_type == "raw" else request.media_type,
        speed=request.speed_factor,
        top_k=request.top_k,
        top_p=request.top_p,
        temperature=request.temperature,
        repetition_penalty=request.repetition_penalty,
        seed=None if request.seed < 0 else request.seed,
        text_split_method=request.text_split_method,
        fragment_interval_s=request.fragment_interval,
        stream=request.streaming_mode > 0,
    )
    return options, speaker
