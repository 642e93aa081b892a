"""SynthesisOptions: the one shape every API's request is converted into before synthesis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gpt_sovits import defaults

SplitMethod = Literal["cut0", "cut1", "cut2", "cut3", "cut4", "cut5"]
#: How a stream is cut: a chunk per sentence (api_v2 streaming_mode 1), or chunks of semantic ids
#: while the sentence decodes, cut at silence-like ids (mode 2) or every ``chunk_tokens`` (mode 3).
StreamChunks = Literal["sentence", "silence", "fixed"]
#: api_v2's defaults for token chunks: ``min_chunk_length`` and ``overlap_length``.
CHUNK_TOKENS = 16
OVERLAP_TOKENS = 2


@dataclass(frozen=True)
class Limits:
    """The server's bounds on a request (from its settings)."""

    max_text_length: int


class SynthesisOptions(BaseModel):
    """The parameters of one synthesis, already checked by the API that built them."""

    model_config = ConfigDict(frozen=True)

    text: str
    speaker_id: str
    language: str = defaults.LANGUAGE
    format: str = "wav"
    sample_rate: int | None = None
    speed: float = defaults.SPEED
    top_k: int = defaults.TOP_K
    top_p: float = defaults.TOP_P
    temperature: float = defaults.TEMPERATURE
    repetition_penalty: float = defaults.REPETITION_PENALTY
    seed: int | None = None
    text_split_method: SplitMethod = defaults.TEXT_SPLIT_METHOD
    fragment_interval_s: float = defaults.FRAGMENT_INTERVAL_S
    stream: bool = False
    stream_chunks: StreamChunks = "fixed"
    chunk_tokens: int = CHUNK_TOKENS
    overlap_tokens: int = OVERLAP_TOKENS
    #: Ids in a token-chunk stream's first chunk; None: the server's default.
    first_chunk_tokens: int | None = None

    @property
    def token_chunks(self) -> bool:
        """True when the audio is streamed in token chunks (not whole sentences)."""
        return self.stream and self.stream_chunks != "sentence"

    @property
    def deterministic(self) -> bool:
        """Same inputs give the same audio: only a fixed seed does (SoVITS adds noise too)."""
        return self.seed is not None
