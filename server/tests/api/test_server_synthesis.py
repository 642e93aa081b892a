"""Synthesis over real HTTP on the demo weights: every route, format, rate, cache and error."""

from __future__ import annotations

import io
import logging
import time

import httpx
import numpy as np
import pytest
import soundfile as sf
from server_api_helpers import metric_value

TEXT = "Hello there. 你好，世界。"


def _tts(server, client: httpx.Client, **body: object) -> httpx.Response:
    payload = {"text": TEXT, "speaker_id": "demo", "seed": 3, **body}
    return client.post(f"{server.url}/api/v1/tts", json=payload)


def _decode(response: httpx.Response) -> tuple[np.ndarray, int]:
    data, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    return data, rate


@pytest.mark.parametrize(
    ("fmt", "media_type", "rate"),
    [
        ("wav", "audio/wav", 32000),
        ("flac", "audio/flac", 32000),
        ("ogg", "audio/ogg", 32000),
        ("mp3", "audio/mpeg", 32000),
        ("opus", "audio/ogg; codecs=opus", 48000),
    ],
)
def test_every_container_decodes_to_the_declared_rate(demo_server, client, fmt, media_type, rate) -> None:
    response = _tts(demo_server, client, format=fmt)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["x-sample-rate"] == str(rate)
    data, decoded_rate = _decode(response)
    assert decoded_rate == rate
    assert data.ndim == 1
    assert data.shape[0] > rate * 0.3  # two sentences and their pauses
    assert np.abs(data).max() > 0.01


def test_pcm_and_wav_carry_the_same_samples(demo_server, client) -> None:
    wav = _tts(demo_server, client, format="wav", seed=11)
    pcm = _tts(demo_server, client, format="pcm", seed=11)
    assert pcm.headers["content-type"] == "audio/pcm"
    samples = np.frombuffer(pcm.content, dtype="<i2")
    decoded, _ = sf.read(io.BytesIO(wav.content), dtype="int16")
    np.testing.assert_array_equal(samples, decoded)


def test_requested_sample_rate_keeps_the_duration(demo_server, client) -> None:
    native, native_rate = _decode(_tts(demo_server, client, seed=12))
    response = _tts(demo_server, client, seed=12, sample_rate=16000)
    low, low_rate = _decode(response)
    assert (native_rate, low_rate, response.headers["x-sample-rate"]) == (32000, 16000, "16000")
    assert abs(native.shape[0] / native_rate - low.shape[0] / low_rate) < 0.002


def test_fixed_seed_repeats_from_the_cache(demo_server, client) -> None:
    first = _tts(demo_server, client, seed=21, text="Cache me once.")
    second = _tts(demo_server, client, seed=21, text="Cache me once.")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.content == second.content
    metrics = client.get(f"{demo_server.url}/metrics").text
    assert metric_value(metrics, "gsv_cache_hits_total") >= 1
    assert metric_value(metrics, "gsv_cache_bytes") >= len(first.content)


def test_random_seed_is_never_cached(demo_server, client) -> None:
    body = {"text": "Not cached.", "speaker_id": "demo", "seed": None}
    first = client.post(f"{demo_server.url}/api/v1/tts", json=body)
    second = client.post(f"{demo_server.url}/api/v1/tts", json=body)
    assert first.headers["x-cache"] == second.headers["x-cache"] == "miss"
    assert first.content != second.content


def test_speaker_by_name_and_reference_free_voice(serve, demo_settings, client) -> None:
    # Without the audio cache, so that each answer below is a synthesis of its own.
    server = serve(**demo_settings, cache_enabled=False)
    server.wait_ready()
    url = f"{server.url}/api/v1/tts"
    by_name = client.post(
        url, json={"text": "Hi.", "speaker": "Demo voice, reference-free (non-speech)", "seed": 1}
    )
    by_id = client.post(url, json={"text": "Hi.", "speaker_id": "demo-free", "seed": 1})
    with_prompt = client.post(url, json={"text": "Hi.", "speaker_id": "demo", "seed": 1})
    assert by_name.status_code == by_id.status_code == with_prompt.status_code == 200
    assert {r.headers["x-cache"] for r in (by_name, by_id, with_prompt)} == {"miss"}
    assert by_name.content == by_id.content  # the name resolved to demo-free; a fixed seed repeats
    # Same clip, same seed: only the transcript (reference-free here) tells the two voices apart.
    assert with_prompt.content != by_id.content


def test_openai_speech_route(demo_server, client) -> None:
    response = client.post(
        f"{demo_server.url}/v1/audio/speech",
        json={"model": "tts-1", "input": "Hello.", "voice": "demo", "response_format": "flac", "speed": 1.5},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/flac"
    assert _decode(response)[1] == 32000
    default = client.post(
        f"{demo_server.url}/v1/audio/speech", json={"model": "tts-1", "input": "Hi.", "voice": "demo"}
    )
    assert default.headers["content-type"] == "audio/mpeg"


def test_official_api_v2_route_by_get_and_post(demo_server, client) -> None:
    params = {"text": "你好。", "text_lang": "zh", "ref_audio_path": "demo", "seed": 5, "media_type": "wav"}
    got = client.get(f"{demo_server.url}/tts", params=params)
    posted = client.post(f"{demo_server.url}/tts", json=params)
    assert got.status_code == posted.status_code == 200
    assert got.content == posted.content
    raw = client.get(f"{demo_server.url}/tts", params={**params, "media_type": "raw"})
    assert raw.headers["content-type"] == "audio/pcm"
    assert np.frombuffer(raw.content, dtype="<i2").shape[0] == _decode(got)[0].shape[0]
    streamed = client.get(f"{demo_server.url}/tts", params={**params, "streaming_mode": "true"})
    assert streamed.status_code == 200
    assert streamed.headers.get("transfer-encoding") == "chunked"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"speaker_id": "nobody"}, 404, "not_found", "speaker_id"),
        ({"language": "klingon"}, 422, "unsupported", "language"),
        ({"format": "aac"}, 422, "invalid_input", "format"),
        ({"format": "mp3", "stream": True}, 422, "unsupported", "format"),
        ({"text": "x" * 2001}, 413, "payload_too_large", "text"),
        ({"text": "   "}, 422, "invalid_input", "text"),
        ({"text": "。。。"}, 422, "invalid_input", "text"),
        ({"speed": 0}, 422, "invalid_input", "speed"),
        ({"seed": -1}, 422, "invalid_input", "seed"),
        ({"stream": True, "first_chunk_tokens": 2}, 422, "invalid_input", "first_chunk_tokens"),
        ({"unknown_option": 1}, 422, "invalid_input", "unknown_option"),
    ],
)
def test_bad_requests_name_the_field(demo_server, client, body, status, code, field) -> None:
    response = _tts(demo_server, client, **body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]


@pytest.mark.parametrize(
    ("route", "body", "status", "field"),
    [
        ("/v1/audio/speech", {"model": "m", "input": "Hi.", "voice": "nobody"}, 404, "voice"),
        (
            "/v1/audio/speech",
            {"model": "m", "input": "Hi.", "voice": "demo", "response_format": "aac"},
            422,
            "response_format",
        ),
        ("/tts", {"text": "Hi.", "text_lang": "en", "ref_audio_path": "/etc/passwd"}, 404, "ref_audio_path"),
        (
            "/tts",
            {"text": "Hi.", "text_lang": "en", "ref_audio_path": "demo", "media_type": "aac"},
            422,
            "media_type",
        ),
        ("/tts", {"text": "Hi.", "text_lang": "xx", "ref_audio_path": "demo"}, 422, "text_lang"),
    ],
)
def test_compatible_routes_name_the_field(demo_server, client, route, body, status, field) -> None:
    response = client.post(f"{demo_server.url}{route}", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


def test_each_request_is_logged_once_with_its_synthesis(demo_server, client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="voice_server.access"):
        response = _tts(demo_server, client, seed=None, text="Log this line.")
        request_id = response.headers["x-request-id"]

        def logged() -> list[logging.LogRecord]:
            return [
                r
                for r in caplog.records
                if getattr(r, "request_id", None) == request_id and r.msg == "request"
            ]

        # The line is written once the last byte has left, maybe just after the client read it:
        # wait for it while the level is still INFO.
        deadline = time.monotonic() + 5
        while not logged() and time.monotonic() < deadline:
            time.sleep(0.02)
    lines = logged()
    assert len(lines) == 1
    line = lines[0].__dict__
    assert (line["route"], line["status"], line["speaker"], line["cache_hit"]) == (
        "/api/v1/tts",
        200,
        "demo",
        False,
    )
    assert line["text_chars"] == len("Log this line.")
    assert line["audio_s"] > 0
    assert line["batch_size"] >= 1
    assert line["latency_ms"] >= line["first_audio_ms"] > 0


def test_metrics_report_audio_batches_and_speed(demo_server, client) -> None:
    _tts(demo_server, client, seed=None)
    metrics = client.get(f"{demo_server.url}/metrics").text
    assert metric_value(metrics, "gsv_audio_seconds_total") > 0
    assert metric_value(metrics, 'gsv_batch_size_count{stage="gpt"}') >= 1
    assert metric_value(metrics, 'gsv_batch_size_count{stage="sovits"}') >= 1
    assert metric_value(metrics, 'gsv_queue_wait_seconds_count{stage="gpt"}') >= 1
    assert metric_value(metrics, "gsv_real_time_factor_count") >= 1
    assert metric_value(metrics, 'gsv_time_to_first_audio_seconds_count{route="/api/v1/tts"}') >= 1
    assert metric_value(metrics, "gsv_models_loaded") == 1
    assert metric_value(metrics, "gsv_ready") == 1
    assert metric_value(metrics, "gsv_requests_in_flight") == 0


@pytest.mark.parametrize("warmup", [True, False])
def test_warm_up_computes_every_speaker_before_ready(serve, demo_settings, client, warmup: bool) -> None:
    # A server of its own: no request has reached it when it turns ready.
    server = serve(**demo_settings, warmup=warmup)
    server.wait_ready()
    state = server.app.state.server
    synthesizer = state.registry.get("default").synthesizer
    speakers = len(state.speakers.all())
    assert synthesizer.reference_computations == (speakers if warmup else 0)
    # The features the warm-up computed are the ones requests use: none is computed again.
    assert _tts(server, client).status_code == 200
    assert synthesizer.reference_computations == (speakers if warmup else 1)
    metrics = client.get(f"{server.url}/metrics").text
    # The warm-up's audio is not kept: this request's was not in the cache.
    assert metric_value(metrics, "gsv_cache_hits_total") == 0


def _gpt_steps(server, client: httpx.Client) -> tuple[float, float]:
    """GPT decode steps so far, and how many of them decoded one row alone."""
    metrics = client.get(f"{server.url}/metrics").text
    steps = metric_value(metrics, 'gsv_batch_size_count{stage="gpt"}')
    return steps, metric_value(metrics, 'gsv_batch_size_bucket{stage="gpt",le="1.0"}')


@pytest.mark.parametrize("streams", [3, 0])
def test_warm_up_streams_run_together_before_ready(serve, demo_settings, client, streams: int) -> None:
    settings = {**demo_settings, "max_tokens_per_sentence": 60}
    server = serve(**settings, warmup_streams=streams)
    server.wait_ready()
    steps, alone = _gpt_steps(server, client)
    assert steps > 0
    if streams:
        # Rows of several streams shared GPT steps: the batch shapes ran before the first request.
        assert steps > alone
    else:
        assert steps == alone
    state = server.app.state.server
    assert state.registry.get("default").synthesizer.reference_computations == len(state.speakers.all())


def test_unparsable_json_names_the_body(demo_server, client) -> None:
    response = client.post(
        f"{demo_server.url}/api/v1/tts", content=b'{"text": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "body"
