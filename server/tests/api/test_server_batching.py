"""Concurrency over real HTTP: batching, equality with unbatched results, overload, disconnects."""

from __future__ import annotations

import concurrent.futures
import json
import socket

import httpx
import numpy as np
import pytest
from server_api_helpers import StageGate, metric_value, wait_until

TEXTS = [
    "The first request.",
    "A second, different one.",
    "你好，这是第三个。",
    "Number four is here.",
    "Five arrives together.",
    "第六个请求。",
    "Seven of them.",
    "And the eighth.",
]


def _post_all(url: str, bodies: list[dict[str, object]], timeout: float = 120) -> list[httpx.Response]:
    with (
        httpx.Client(timeout=timeout) as http,
        concurrent.futures.ThreadPoolExecutor(max_workers=len(bodies)) as pool,
    ):
        return list(pool.map(lambda body: http.post(f"{url}/api/v1/tts", json=body), bodies))


@pytest.mark.parametrize("scheduler", ["static", "continuous"])
def test_concurrent_requests_batch_and_equal_their_unbatched_results(serve, demo_settings, scheduler) -> None:
    # A long batching window makes the concurrent requests meet in one batch; no cache, so the
    # sequential requests below are synthesised again.
    server = serve(**demo_settings, cache_enabled=False, max_batch_delay_ms=500, scheduler=scheduler)
    server.wait_ready()
    bodies = [
        {"text": text, "speaker_id": "demo", "seed": 100 + i, "format": "pcm"} for i, text in enumerate(TEXTS)
    ]
    batched = _post_all(server.url, bodies)
    assert [r.status_code for r in batched] == [200] * len(bodies)
    with httpx.Client(timeout=60) as http:
        metrics = http.get(f"{server.url}/metrics").text
        largest = max(int(r.headers.get("x-batch-size", "0")) for r in batched)
        alone = [http.post(f"{server.url}/api/v1/tts", json=body) for body in bodies]
    gpt_batches = metric_value(metrics, 'gsv_batch_size_count{stage="gpt"}')
    gpt_sentences = metric_value(metrics, 'gsv_batch_size_sum{stage="gpt"}')
    if scheduler == "static":
        # Warm-up ran 2 single-sentence batches; the requests' sentences (some texts split in two)
        # then went through in fewer batches than requests.
        assert gpt_sentences - 2 >= len(bodies)
        assert gpt_batches - 2 < len(bodies)
    else:
        # Per decode step: warm-up steps had one row each, the requests' rows shared steps.
        assert gpt_sentences > gpt_batches
    assert largest > 1
    for together, single in zip(batched, alone, strict=True):
        assert together.content == single.content


def test_a_batching_sovits_stage_decodes_queued_sentences_together_with_the_same_audio(
    serve, demo_settings
) -> None:
    # The sentences decode to the demo's cap, so their SoVITS windows mostly have one shape; the
    # stage is held while they queue, then takes them as one batch.
    server = serve(**demo_settings, cache_enabled=False, sovits_max_batch_size=8)
    server.wait_ready()
    bodies = [
        {"text": text, "speaker_id": "demo", "seed": 200 + i, "format": "pcm"}
        for i, text in enumerate(TEXTS[:4])
    ]
    model = server.state.registry.get("default")
    gate = StageGate(model.sovits)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_post_all, server.url, bodies)
        gate.wait_entered()  # the first sentences are held in the stage, any others queue behind
        wait_until(lambda: model.gpt.depth == 0 and model.gpt.running == 0)
        gate.remove()
        batched = pending.result()
    assert [r.status_code for r in batched] == [200] * len(bodies)
    with httpx.Client(timeout=60) as http:
        metrics = http.get(f"{server.url}/metrics").text
        alone = [http.post(f"{server.url}/api/v1/tts", json=body) for body in bodies]
    vocode_calls = metric_value(metrics, 'gsv_batch_size_count{stage="sovits"}')
    vocoded = metric_value(metrics, 'gsv_batch_size_sum{stage="sovits"}')
    assert vocoded > vocode_calls  # some sentences shared a call
    for together, single in zip(batched, alone, strict=True):
        # The same samples up to the batched convolutions' summation order: at most one step
        # of 16-bit PCM apart.
        a, b = (np.frombuffer(r.content, dtype="<i2").astype(np.int32) for r in (together, single))
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 1


def test_full_queue_answers_429_with_retry_after_and_never_5xx(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False, max_queue=2, max_batch_size=1)
    server.wait_ready()
    gate = StageGate(server.state.registry.get("default").gpt)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        admitted = [
            pool.submit(
                httpx.post,
                f"{server.url}/api/v1/tts",
                json={"text": f"Held {i}.", "speaker_id": "demo"},
                timeout=120,
            )
            for i in range(2)
        ]
        gate.wait_entered()
        wait_until(lambda: server.state.synthesis.active == 2)
        # The queue is full for as long as the gate is shut: every further request is refused.
        bodies = [{"text": f"Overload number {i}.", "speaker_id": "demo", "seed": i} for i in range(6)]
        refused = _post_all(server.url, bodies)
        gate.open()
        assert [f.result().status_code for f in admitted] == [200, 200]
    assert [r.status_code for r in refused] == [429] * len(bodies)
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert all(r.json()["error"]["code"] == "overloaded" for r in refused)
    metrics = httpx.get(f"{server.url}/metrics").text
    assert metric_value(metrics, 'gsv_synthesis_rejected_total{reason="overloaded"}') == len(refused)
    # Only the admitted requests count towards the autoscaling signal.
    assert metric_value(metrics, "gsv_synthesis_requests_total") == len(admitted)


def test_client_disconnect_frees_its_slot(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False, max_queue=1, max_batch_size=1)
    server.wait_ready()
    model = server.state.registry.get("default")
    gate = StageGate(model.gpt)
    long_text = " ".join(f"Sentence number {i} goes here." for i in range(12))
    body = json.dumps({"text": long_text, "speaker_id": "demo"}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as impatient:
        impatient.sendall(
            b"POST /api/v1/tts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        gate.wait_entered()  # its first sentence is decoding, the others are queued
    # The client has gone away mid-request.
    wait_until(lambda: server.state.synthesis.active == 0)
    gate.remove()
    # With max_queue=1 a new request is admitted only because the abandoned one left.
    follow_up = httpx.post(
        f"{server.url}/api/v1/tts", json={"text": "Next.", "speaker_id": "demo", "seed": 1}, timeout=60
    )
    assert follow_up.status_code == 200
    # Its queued sentences were dropped rather than decoded.
    assert model.gpt.dropped > 0


def test_probes_answer_while_the_model_is_busy(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False)
    server.wait_ready()
    gate = StageGate(server.state.registry.get("default").gpt)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(
            httpx.post, f"{server.url}/api/v1/tts", json={"text": "Busy.", "speaker_id": "demo"}, timeout=120
        )
        gate.wait_entered()  # the model is computing (held) right now
        health = httpx.get(f"{server.url}/health", timeout=5)
        metrics = httpx.get(f"{server.url}/metrics", timeout=5)
        still_busy = server.state.synthesis.active
        gate.open()
        assert busy.result().status_code == 200
    assert health.status_code == metrics.status_code == 200
    assert still_busy == 1
    assert metric_value(metrics.text, "gsv_requests_in_flight") == 1


def test_request_past_its_deadline_is_503_timeout(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False, request_timeout_s=0.5)
    server.wait_ready()
    gate = StageGate(server.state.registry.get("default").gpt)  # shut until the deadline passed
    response = httpx.post(
        f"{server.url}/api/v1/tts", json={"text": "Slow.", "speaker_id": "demo"}, timeout=60
    )
    gate.open()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "timeout"
    wait_until(lambda: server.state.synthesis.active == 0)
    metrics = httpx.get(f"{server.url}/metrics").text
    assert metric_value(metrics, 'gsv_synthesis_rejected_total{reason="timeout"}') == 1
