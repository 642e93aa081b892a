"""Encodes float waveforms into the response formats clients ask for."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
import soundfile as sf

from gpt_sovits.audio import float_to_int16, resample

AudioFormat = Literal["wav", "flac", "ogg", "opus", "mp3", "pcm"]


@dataclass(frozen=True)
class FormatSpec:
    """How one format is written by libsndfile, and what it is called on the wire."""

    media_type: str
    container: str | None  # libsndfile major format; None for headerless PCM
    subtype: str | None
    fixed_rate: int | None = None  # the codec only runs at this rate


FORMATS: dict[str, FormatSpec] = {
    "wav": FormatSpec("audio/wav", "WAV", "PCM_16"),
    "flac": FormatSpec("audio/flac", "FLAC", "PCM_16"),
    "ogg": FormatSpec("audio/ogg", "OGG", "VORBIS"),
    "opus": FormatSpec("audio/ogg; codecs=opus", "OGG", "OPUS", fixed_rate=48_000),
    "mp3": FormatSpec("audio/mpeg", "MP3", "MPEG_LAYER_III"),
    "pcm": FormatSpec("audio/pcm", None, None),
}


def output_rate(fmt: str, model_rate: int, requested: int | None) -> int:
    """The rate a response will carry: the codec's fixed rate, the request's, or the model's."""
    spec = FORMATS[fmt]
    return spec.fixed_rate or requested or model_rate


def encode(wave: np.ndarray, rate: int, fmt: str, target_rate: int | None = None) -> bytes:
    """Encode a mono float32 waveform at ``rate`` into ``fmt``; pcm is raw little-endian int16."""
    spec = FORMATS[fmt]
    out_rate = output_rate(fmt, rate, target_rate)
    samples = float_to_int16(resample(np.asarray(wave, dtype=np.float32), rate, out_rate))
    if spec.container is None:
        return samples.astype("<i2").tobytes()
    buffer = io.BytesIO()
    sf.write(buffer, samples, out_rate, format=spec.container, subtype=spec.subtype)
    return buffer.getvalue()


def wav_header(rate: int, data_bytes: int = 0xFFFFFFFF - 36) -> bytes:
    """A 16-bit mono WAV header for streaming, where the final length is not known yet."""
    block_align = 2
    fields = [
        b"RIFF",
        (36 + data_bytes).to_bytes(4, "little"),
        b"WAVEfmt ",
        (16).to_bytes(4, "little"),
        (1).to_bytes(2, "little"),  # PCM
        (1).to_bytes(2, "little"),  # mono
        rate.to_bytes(4, "little"),
        (rate * block_align).to_bytes(4, "little"),
        block_align.to_bytes(2, "little"),
        (16).to_bytes(2, "little"),
        b"data",
        data_bytes.to_bytes(4, "little"),
    ]
    return b"".join(fields)
