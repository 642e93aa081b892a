"""Response encodings, decoded back with a real decoder (libsndfile)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from gpt_sovits.audio import float_to_int16
from voice_server.audio_format import FORMATS, encode, wav_header

RATE = 32_000


def _tone(seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_container_formats_decode_to_rate_and_length(fmt: str) -> None:
    data, rate = sf.read(io.BytesIO(encode(_tone(), RATE, fmt)))
    assert rate == RATE
    # Lossy codecs pad or trim a few frames at the edges.
    assert abs(len(data) - len(_tone())) <= 2048
    assert np.max(np.abs(data)) == pytest.approx(0.4, abs=0.05)


def test_wav_is_lossless_int16() -> None:
    data, _ = sf.read(io.BytesIO(encode(_tone(), RATE, "wav")), dtype="int16")
    expected = float_to_int16(_tone())
    np.testing.assert_array_equal(data, expected)


def test_opus_is_resampled_to_its_fixed_rate() -> None:
    data, rate = sf.read(io.BytesIO(encode(_tone(), RATE, "opus")))
    assert rate == 48_000
    assert abs(len(data) - 24_000) <= 2048


def test_requested_rate_is_honoured() -> None:
    data, rate = sf.read(io.BytesIO(encode(_tone(), RATE, "wav", target_rate=16_000)))
    assert rate == 16_000
    assert len(data) == 8_000


def test_pcm_is_raw_little_endian_int16() -> None:
    raw = encode(_tone(), RATE, "pcm")
    assert len(raw) == 2 * len(_tone())
    samples = np.frombuffer(raw, dtype="<i2")
    assert samples.max() == pytest.approx(0.4 * 32768, rel=0.01)


def test_out_of_range_samples_are_clipped_not_wrapped() -> None:
    raw = encode(np.array([2.0, -2.0], dtype=np.float32), RATE, "pcm")
    assert list(np.frombuffer(raw, dtype="<i2")) == [32767, -32768]


def test_streaming_wav_header_then_pcm_decodes() -> None:
    body = encode(_tone(), RATE, "pcm")
    stream = wav_header(RATE, data_bytes=len(body)) + body
    data, rate = sf.read(io.BytesIO(stream))
    assert rate == RATE
    assert len(data) == len(_tone())


def test_every_format_has_a_media_type() -> None:
    assert all(spec.media_type.startswith("audio/") for spec in FORMATS.values())
