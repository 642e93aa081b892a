"""Request and response bodies of every API, with their conversion to synthesis options."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voice_server.audio_format import FORMATS

SplitMethod = Literal["cut0", "cut1", "cut2", "cut3", "cut4", "cut5"]


class SynthesisOptions(BaseModel):
    """What every API boils down to: the parameters of one synthesis."""

    model_config = ConfigDict(frozen=True)

    text: str
    speaker_id: str
    language: str = "auto"
    format: str = "wav"
    sample_rate: int | None = None
    speed: float = 1.0
    top_k: int = 15
    top_p: float = 1.0
    temperature: float = 1.0
    repetition_penalty: float = 1.35
    seed: int | None = None
    text_split_method: SplitMethod = "cut5"
    fragment_interval_s: float = 0.3
    stream: bool = False

    @property
    def deterministic(self) -> bool:
        """Same inputs give the same audio: only a fixed seed does (SoVITS adds noise too)."""
        return self.seed is not None


def _check_format(value: str) -> str:
    if value not in FORMATS:
        raise ValueError(f"unsupported format {value!r}; one of {', '.join(sorted(FORMATS))}")
    return value


class SynthesisFields(BaseModel):
    """Options shared by the native synthesis routes."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field("auto", description="zh, en, all_zh, or auto (detected per segment).")
    format: str = Field("wav", description="wav, flac, ogg, opus, mp3 or pcm (16-bit little-endian).")
    sample_rate: int | None = Field(None, ge=8000, le=48000, description="Output rate; default the model's.")
    speed: float = Field(1.0, ge=0.25, le=4.0)
    top_k: int = Field(15, ge=1, le=1024)
    top_p: float = Field(1.0, gt=0, le=1)
    temperature: float = Field(1.0, gt=0, le=5)
    repetition_penalty: float = Field(1.35, ge=1, le=5)
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Fixed seed: reproducible, cacheable.")
    text_split_method: SplitMethod = "cut5"
    stream: bool = Field(False, description="Send audio sentence by sentence (chunked; wav or pcm).")

    _format = field_validator("format")(_check_format)


class TtsRequest(SynthesisFields):
    """``POST /api/v1/tts``."""

    text: str = Field(min_length=1, description="Text to speak.")
    speaker_id: str | None = Field(None, description="Speaker id (see GET /api/v1/speakers).")
    speaker: str | None = Field(None, description="Speaker name, instead of speaker_id.")


class UploadTtsForm(SynthesisFields):
    """The form fields of ``POST /api/v1/tts/upload`` (the clip itself is the ``ref_audio`` file)."""

    # The form also carries the file part, which is not one of these fields.
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, description="Text to speak.")
    prompt_text: str = Field("", description="Transcript of the clip; empty: reference-free mode.")
    prompt_language: str = Field("zh", description="Language of the transcript.")
    model: str = Field("default", min_length=1, description="Loaded model to speak with.")


class OpenAISpeechRequest(BaseModel):
    """``POST /v1/audio/speech`` in the OpenAI shape; ``voice`` names a speaker."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    input: str = Field(min_length=1, max_length=4096)
    voice: str | dict[str, str]
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)

    def voice_id(self) -> str:
        """The speaker the voice field names (``"narrator"`` or ``{"id": "narrator"}``)."""
        if isinstance(self.voice, dict):
            return self.voice.get("id", "")
        return self.voice


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
    language: str
    model: str


class SpeakersResponse(BaseModel):
    """``GET /api/v1/speakers``."""

    speakers: list[SpeakerInfo]


class CompatTtsRequest(BaseModel):
    """``GET|POST /tts`` with the official GPT-SoVITS api_v2 parameters and their defaults.

    Options that only tune the official implementation's internals (batch_size, batch_threshold,
    split_bucket, parallel_infer, sample_steps, super_sampling, overlap_length, min_chunk_length)
    are accepted and have no effect here: batching is the server's job.
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
    top_k: int = Field(15, ge=1, le=1024)
    top_p: float = Field(1.0, gt=0, le=1)
    temperature: float = Field(1.0, gt=0, le=5)
    text_split_method: SplitMethod = "cut5"
    batch_size: int = Field(1, ge=1)
    batch_threshold: float = 0.75
    split_bucket: bool = True
    speed_factor: float = Field(1.0, ge=0.25, le=4.0)
    fragment_interval: float = Field(0.3, ge=0, le=5)
    seed: int = Field(-1, ge=-1)
    media_type: Literal["wav", "raw", "ogg", "aac"] = "wav"
    streaming_mode: int = Field(0, ge=0, le=3)
    parallel_infer: bool = True
    repetition_penalty: float = Field(1.35, ge=1, le=5)
    sample_steps: int = 32
    super_sampling: bool = False
    overlap_length: int = 2
    min_chunk_length: int = 16

    @field_validator("streaming_mode", mode="before")
    @classmethod
    def _bool_streaming(cls, value: object) -> object:
        # The official API also takes true/false here.
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true")
        return value


class ModelLoadRequest(BaseModel):
    """``PUT /admin/models/{name}``: weight files, relative to the model folder (or absolute without one)."""

    model_config = ConfigDict(extra="forbid")

    gpt_weights: str = Field(min_length=1, description="GPT checkpoint (.ckpt).")
    sovits_weights: str = Field(min_length=1, description="SoVITS checkpoint (.pth).")
    bert_dir: str | None = Field(None, description="Chinese BERT folder; default the server's.")
    hubert_dir: str | None = Field(None, description="Chinese HuBERT folder; default the server's.")


class ModelInfo(BaseModel):
    """One loaded model."""

    name: str
    generation: int = Field(description="Increases each time weights are (re)loaded.")
    gpt_weights: str
    sovits_weights: str
    device: str
    sample_rate: int


class ModelsResponse(BaseModel):
    """``GET /admin/models``."""

    models: list[ModelInfo]
