"""Request and response bodies of every route; each request shape converts itself into options.

``to_options`` (one per request shape, the way vLLM's requests make their sampling parameters) is
the only place a request's fields become :class:`~voice_server.options.SynthesisOptions`; the
checks it needs (text length, language, format) live in :mod:`.validation`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gpt_sovits import defaults
from gpt_sovits.t2s.decode import MAX_DECODE_STEPS
from voice_server.api.validation import check_format, check_language, check_text
from voice_server.errors import UnsupportedError
from voice_server.options import (
    CHUNK_TOKENS,
    OVERLAP_TOKENS,
    Limits,
    SplitMethod,
    StreamChunks,
    SynthesisOptions,
)

#: Shortest token chunk: each costs a SoVITS call, so tiny ones would flood that stage.
MIN_CHUNK_TOKENS = 4
#: Most ids a seam may cross-fade.
MAX_OVERLAP_TOKENS = 16
#: api_v2's streaming_mode values, as chunkings.
_STREAMING_MODES: dict[int, StreamChunks] = {1: "sentence", 2: "silence", 3: "fixed"}

# Fields that the native routes' bodies and SynthesisOptions share by name.
_SHARED_FIELDS = frozenset(
    {
        "format",
        "sample_rate",
        "speed",
        "top_k",
        "top_p",
        "temperature",
        "repetition_penalty",
        "seed",
        "text_split_method",
        "stream",
        "stream_chunks",
        "chunk_tokens",
        "first_chunk_tokens",
    }
)


class SynthesisFields(BaseModel):
    """Options shared by the native synthesis routes."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(
        defaults.LANGUAGE,
        description="zh, en, ja, ko, yue, all_zh/all_ja/all_ko/all_yue, auto or auto_yue (per segment).",
    )
    format: str = Field("wav", description="wav, flac, ogg, opus, mp3 or pcm (16-bit little-endian).")
    sample_rate: int | None = Field(None, ge=8000, le=48000, description="Output rate; default the model's.")
    speed: float = Field(defaults.SPEED, ge=0.25, le=4.0)
    top_k: int = Field(defaults.TOP_K, ge=1, le=1024)
    top_p: float = Field(defaults.TOP_P, gt=0, le=1)
    temperature: float = Field(defaults.TEMPERATURE, gt=0, le=5)
    repetition_penalty: float = Field(defaults.REPETITION_PENALTY, ge=1, le=5)
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Fixed seed: reproducible, cacheable.")
    text_split_method: SplitMethod = defaults.TEXT_SPLIT_METHOD
    stream: bool = Field(False, description="Send audio while it is synthesised (chunked; wav or pcm).")
    stream_chunks: StreamChunks = Field(
        "fixed",
        description="With stream: fixed: audio every chunk_tokens semantic ids while a sentence decodes; "
        "silence: the same, cut between silence-like ids after at least chunk_tokens; sentence: each "
        "sentence whole.",
    )
    chunk_tokens: int = Field(
        CHUNK_TOKENS, ge=MIN_CHUNK_TOKENS, le=MAX_DECODE_STEPS, description="Ids per token chunk (25 per s)."
    )
    first_chunk_tokens: int | None = Field(
        None,
        ge=MIN_CHUNK_TOKENS,
        le=MAX_DECODE_STEPS,
        description="Ids in a token-chunk stream's first chunk (fewer: first audio sooner); unset: the "
        "server's default (--first-chunk-tokens, at most chunk_tokens).",
    )

    _format = field_validator("format")(check_format)

    def _options(self, text: str, speaker_id: str, limits: Limits) -> SynthesisOptions:
        return SynthesisOptions(
            text=check_text(text, limits.max_text_length, "text"),
            speaker_id=speaker_id,
            language=check_language(self.language, "language"),
            **self.model_dump(include=set(_SHARED_FIELDS)),
        )


class TtsRequest(SynthesisFields):
    """``POST /api/v1/tts``."""

    text: str = Field(min_length=1, description="Text to speak.")
    speaker_id: str | None = Field(None, description="Speaker id (see GET /api/v1/speakers).")
    speaker: str | None = Field(None, description="Speaker name, instead of speaker_id.")

    def to_options(self, speaker_id: str, limits: Limits) -> SynthesisOptions:
        """The synthesis this request asks for, with the speaker it resolved to."""
        return self._options(self.text, speaker_id, limits)


class UploadTtsForm(SynthesisFields):
    """The form fields of ``POST /api/v1/tts/upload`` (the clip itself is the ``ref_audio`` file)."""

    # The form also carries the file part, which is not one of these fields.
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, description="Text to speak.")
    prompt_text: str = Field("", description="Transcript of the clip; empty: reference-free mode.")
    prompt_language: str = Field("zh", description="Language of the transcript.")
    model: str = Field("default", min_length=1, description="Loaded model to speak with.")

    def to_options(self, speaker_id: str, limits: Limits) -> SynthesisOptions:
        """The synthesis this upload asks for."""
        check_language(self.prompt_language, "prompt_language")
        return self._options(self.text, speaker_id, limits)


#: What OpenAI's response formats are here (``aac`` has no encoder in this server).
_UNSUPPORTED_FORMATS = {
    "aac": "aac needs an encoder this server does not ship; use mp3, opus, ogg, flac or wav"
}


class OpenAISpeechRequest(BaseModel):
    """``POST /v1/audio/speech`` in the OpenAI shape; ``voice`` names a speaker."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    input: str = Field(min_length=1, max_length=4096)
    voice: str | dict[str, str]
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(defaults.SPEED, ge=0.25, le=4.0)
    stream_format: Literal["audio", "sse"] = Field(
        "audio", description="audio: the audio bytes (chunked for wav/pcm); sse: speech.audio.delta events."
    )

    def voice_id(self) -> str:
        """The speaker the voice field names (``"narrator"`` or ``{"id": "narrator"}``)."""
        if isinstance(self.voice, dict):
            return self.voice.get("id", "")
        return self.voice

    def to_options(self, speaker_id: str, limits: Limits, *, stream: bool) -> SynthesisOptions:
        """The synthesis this request asks for; the language is detected."""
        if self.response_format in _UNSUPPORTED_FORMATS:
            raise UnsupportedError(_UNSUPPORTED_FORMATS[self.response_format], field="response_format")
        return SynthesisOptions(
            text=check_text(self.input, limits.max_text_length, "input"),
            speaker_id=speaker_id,
            language=defaults.LANGUAGE,
            format=self.response_format,
            speed=self.speed,
            stream=stream,
        )


class CompatTtsRequest(BaseModel):
    """``GET|POST /tts`` with the official GPT-SoVITS api_v2 parameters and their defaults.

    ``streaming_mode`` keeps upstream's meanings: 0 whole, 1 a chunk per sentence, 2 token chunks
    cut at silence-like ids after ``min_chunk_length``, 3 a token chunk every ``min_chunk_length``
    ids; ``overlap_length`` ids are cross-faded at each token seam. Options that only tune the
    official implementation's internals (batch_size, batch_threshold, split_bucket,
    parallel_infer, sample_steps, super_sampling) are accepted and have no effect here: batching
    is the server's job.
    """

    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1)
    text_lang: str = Field(min_length=1)
    ref_audio_path: str = Field(
        min_length=1, description="A speaker id, a speaker's refAudio, or a file in the model folder."
    )
    aux_ref_audio_paths: list[str] | None = None
    prompt_text: str = ""
    prompt_lang: str | None = None
    top_k: int = Field(defaults.TOP_K, ge=1, le=1024)
    top_p: float = Field(defaults.TOP_P, gt=0, le=1)
    temperature: float = Field(defaults.TEMPERATURE, gt=0, le=5)
    text_split_method: SplitMethod = defaults.TEXT_SPLIT_METHOD
    batch_size: int = Field(1, ge=1)
    batch_threshold: float = 0.75
    split_bucket: bool = True
    speed_factor: float = Field(defaults.SPEED, ge=0.25, le=4.0)
    fragment_interval: float = Field(defaults.FRAGMENT_INTERVAL_S, ge=0, le=5)
    seed: int = Field(-1, ge=-1)
    media_type: Literal["wav", "raw", "ogg", "aac"] = "wav"
    streaming_mode: int = Field(0, ge=0, le=3)
    parallel_infer: bool = True
    repetition_penalty: float = Field(defaults.REPETITION_PENALTY, ge=1, le=5)
    sample_steps: int = 32
    super_sampling: bool = False
    overlap_length: int = Field(OVERLAP_TOKENS, ge=0, le=MAX_OVERLAP_TOKENS)
    min_chunk_length: int = Field(CHUNK_TOKENS, ge=MIN_CHUNK_TOKENS, le=MAX_DECODE_STEPS)

    @field_validator("streaming_mode", mode="before")
    @classmethod
    def _bool_streaming(cls, value: object) -> object:
        # The official API also takes true/false here.
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true")
        return value

    def to_options(self, speaker_id: str, limits: Limits) -> SynthesisOptions:
        """The synthesis this request asks for, with the speaker its ref_audio_path names."""
        if self.media_type in _UNSUPPORTED_FORMATS:
            raise UnsupportedError(_UNSUPPORTED_FORMATS[self.media_type], field="media_type")
        return SynthesisOptions(
            text=check_text(self.text, limits.max_text_length, "text"),
            speaker_id=speaker_id,
            language=check_language(self.text_lang.lower(), "text_lang"),
            format="pcm" if self.media_type == "raw" else self.media_type,
            speed=self.speed_factor,
            top_k=self.top_k,
            top_p=self.top_p,
            temperature=self.temperature,
            repetition_penalty=self.repetition_penalty,
            seed=None if self.seed < 0 else self.seed,
            text_split_method=self.text_split_method,
            fragment_interval_s=self.fragment_interval,
            stream=self.streaming_mode > 0,
            stream_chunks=_STREAMING_MODES.get(self.streaming_mode, "sentence"),
            chunk_tokens=self.min_chunk_length,
            overlap_tokens=self.overlap_length,
        )


class ErrorDetail(BaseModel):
    """What went wrong, and which request field to fix (None when no single field is at fault)."""

    code: str
    message: str
    field: str | None


class ErrorBody(BaseModel):
    """Every error answer's body."""

    error: ErrorDetail


class SpeakerInfo(BaseModel):
    """One entry of ``GET /api/v1/speakers``."""

    id: str
    name: str | None
    language: str = Field(description="Language of the speaker's transcript (its prompt language).")
    model: str
    model_version: str | None = Field(description="Version of the speaker's model; None while not loaded.")
    problem: str | None = Field(None, description="Why this speaker cannot be used now, if it cannot.")


class SpeakersResponse(BaseModel):
    """``GET /api/v1/speakers``."""

    speakers: list[SpeakerInfo]


class ModelLoadRequest(BaseModel):
    """``PUT /admin/models/{name}``: weight files, relative to the model folder (or absolute without one)."""

    model_config = ConfigDict(extra="forbid")

    gpt_weights: str = Field(min_length=1, description="GPT checkpoint (.ckpt).")
    sovits_weights: str = Field(min_length=1, description="SoVITS checkpoint (.pth).")
    bert_dir: str | None = Field(None, description="Chinese BERT folder; default the server's.")
    hubert_dir: str | None = Field(None, description="Chinese HuBERT folder; default the server's.")
    sv_weights: str | None = Field(
        None, description="Speaker-verification model (v2Pro); default the server's."
    )


class ModelInfo(BaseModel):
    """One loaded model."""

    name: str
    generation: int = Field(description="Increases each time weights are (re)loaded.")
    version: str = Field(description="Model version read from the SoVITS checkpoint (v2, v2Pro, ...).")
    gpt_weights: str
    sovits_weights: str
    device: str
    sample_rate: int


class ModelsResponse(BaseModel):
    """``GET /admin/models``."""

    models: list[ModelInfo]
