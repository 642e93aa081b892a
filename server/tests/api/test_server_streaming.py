"""Streaming: audio leaves sentence by sentence, long before the whole text is synthesised."""

from __future__ import annotations

import io

import httpx
import numpy as np
import soundfile as sf
from server_api_helpers import metric_value

SENTENCES = [f"This is streamed sentence number {i}." for i in range(6)]


def test_first_chunk_arrives_before_the_last_sentence_is_synthesised(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False)
    server.wait_ready()
    body = {"text": " ".join(SENTENCES), "speaker_id": "demo", "stream": True, "seed": 4}
    chunks: list[bytes] = []
    with httpx.Client(timeout=120) as http:
        produced_before = metric_value(http.get(f"{server.url}/metrics").text, "gsv_audio_seconds_total")
        with http.stream("POST", f"{server.url}/api/v1/tts", json=body) as response:
            assert response.status_code == 200
            assert response.headers["transfer-encoding"] == "chunked"
            stream = response.iter_raw()
            chunks.append(next(stream))
            at_first_chunk = metric_value(http.get(f"{server.url}/metrics").text, "gsv_audio_seconds_total")
            chunks.extend(stream)
        produced_after = metric_value(http.get(f"{server.url}/metrics").text, "gsv_audio_seconds_total")
    audio, rate = sf.read(io.BytesIO(b"".join(chunks)), dtype="float32")
    assert rate == 32000
    streamed_s = audio.shape[0] / rate
    # The first chunk left when at most two of the six sentences existed (one in SoVITS, the
    # next one's GPT decode overlapping it).
    assert at_first_chunk - produced_before < streamed_s / 2
    assert abs((produced_after - produced_before) - streamed_s) < 0.01


def test_streamed_audio_equals_the_whole_response(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False)
    server.wait_ready()
    body = {"text": "One sentence. And another one.", "speaker_id": "demo", "seed": 9, "format": "pcm"}
    with httpx.Client(timeout=120) as http:
        whole = http.post(f"{server.url}/api/v1/tts", json=body).content
        streamed = http.post(f"{server.url}/api/v1/tts", json={**body, "stream": True}).content
    np.testing.assert_array_equal(np.frombuffer(whole, "<i2"), np.frombuffer(streamed, "<i2"))


def test_a_streamed_fixed_seed_request_is_cached_whole(demo_server, client) -> None:
    body = {"text": "Stream then cache.", "speaker_id": "demo", "seed": 77, "stream": True}
    first = client.post(f"{demo_server.url}/api/v1/tts", json=body)
    again = client.post(f"{demo_server.url}/api/v1/tts", json=body)
    plain = client.post(f"{demo_server.url}/api/v1/tts", json={**body, "stream": False})
    assert (first.headers["x-cache"], again.headers["x-cache"], plain.headers["x-cache"]) == (
        "miss",
        "hit",
        "hit",
    )
    first_audio, _ = sf.read(io.BytesIO(first.content), dtype="int16")
    again_audio, _ = sf.read(io.BytesIO(again.content), dtype="int16")
    np.testing.assert_array_equal(first_audio, again_audio)
