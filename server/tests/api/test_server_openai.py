"""``/v1/audio/speech`` driven by the official ``openai`` Python SDK, as its users call it."""

from __future__ import annotations

import base64
import io
import json

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf
from server_api_helpers import metric_value

TEXT = " ".join(f"This is sentence number {i} of the answer." for i in range(5))


@pytest.fixture
def speech_server(serve, demo_settings):  # type: ignore[no-untyped-def]
    server = serve(**demo_settings, cache_enabled=False)
    server.wait_ready()
    return server


def _client(server) -> openai.OpenAI:  # type: ignore[no-untyped-def]
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-needed", timeout=120, max_retries=0)


def _audio_seconds(server) -> float:  # type: ignore[no-untyped-def]
    return metric_value(httpx.get(f"{server.url}/metrics").text, "gsv_audio_seconds_total")


def test_streaming_response_arrives_chunk_by_chunk(speech_server) -> None:
    before = _audio_seconds(speech_server)
    chunks: list[bytes] = []
    with _client(speech_server).audio.speech.with_streaming_response.create(
        model="gpt-sovits", voice="demo", input=TEXT, response_format="wav"
    ) as response:
        stream = response.iter_bytes()
        chunks.append(next(stream))
        at_first_chunk = _audio_seconds(speech_server)
        chunks.extend(stream)
    audio, rate = sf.read(io.BytesIO(b"".join(chunks)), dtype="float32")
    total_s = audio.shape[0] / rate
    assert rate == 32000
    # The first bytes left while most of the answer was still to be synthesised.
    assert at_first_chunk - before < total_s / 2
    assert abs((_audio_seconds(speech_server) - before) - total_s) < 0.01


def test_sse_sends_audio_deltas_then_done(speech_server) -> None:
    events = []
    with _client(speech_server).audio.speech.with_streaming_response.create(
        model="gpt-sovits", voice="demo", input=TEXT, response_format="pcm", stream_format="sse"
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    kinds = [event["type"] for event in events]
    assert kinds[-1] == "speech.audio.done"
    assert set(kinds[:-1]) == {"speech.audio.delta"}
    assert len(kinds) - 1 >= 2  # one delta per sentence as it is ready, not one at the end
    pcm = b"".join(base64.b64decode(event["audio"]) for event in events[:-1])
    samples = np.frombuffer(pcm, dtype="<i2")
    assert samples.shape[0] > 32000  # five sentences of audio
    assert np.abs(samples).max() > 0


def test_whole_formats_still_answer_in_one_piece(speech_server) -> None:
    response = _client(speech_server).audio.speech.create(
        model="gpt-sovits", voice="demo", input="Hello there.", response_format="flac", speed=1.2
    )
    audio, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    assert rate == 32000
    assert audio.shape[0] > 0


def test_sdk_errors_carry_the_field(speech_server) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        _client(speech_server).audio.speech.create(model="gpt-sovits", voice="alloy", input="Hi.")
    body = missing.value.body
    assert isinstance(body, dict)
    assert body["field"] == "voice"  # the SDK keeps the inner "error" object
