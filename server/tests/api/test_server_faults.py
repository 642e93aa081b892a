"""Faults surface instead of hanging or misleading: dead stages, broken speakers, broken streams,
admission of bursts, and start-up probes that mean what they say."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import httpx
import pytest
import yaml
from server_api_helpers import StageGate, metric_value, wait_until

from gpt_sovits.errors import CheckpointError
from gpt_sovits.pipeline import Synthesizer
from voice_server.engine.model import ModelLease
from voice_server.errors import OverloadedError
from voice_server.options import SynthesisOptions

LONG_TEXT = "First sentence here. Second sentence there. Third one at last."


def test_a_dead_stage_fails_requests_at_once_and_turns_the_server_unhealthy(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False, request_timeout_s=120)
    server.wait_ready()
    model = server.state.registry.get("default")

    def broken_observer(waits: list[float]) -> None:
        raise RuntimeError("observer bug")

    model.gpt._on_batch = broken_observer  # a fault outside the per-batch try
    with httpx.Client(timeout=30) as http:  # far below the 120 s deadline: no waiting it out
        response = http.post(f"{server.url}/api/v1/tts", json={"text": "Hello.", "speaker_id": "demo"})
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "engine_failed"
        assert "observer bug" in error["message"]
        health = http.get(f"{server.url}/health")
        assert health.status_code == 503
        assert "observer bug" in health.json()["error"]
        assert http.get(f"{server.url}/ready").status_code == 503
        later = http.post(f"{server.url}/api/v1/tts", json={"text": "Again.", "speaker_id": "demo"})
        assert later.json()["error"]["code"] == "engine_failed"
        assert metric_value(http.get(f"{server.url}/metrics").text, "gsv_ready") == 0


def test_stream_leases_are_released_on_the_event_loop(serve, demo_settings, monkeypatch) -> None:
    server = serve(**demo_settings, cache_enabled=False)
    server.wait_ready()
    threads: list[threading.Thread] = []
    release = ModelLease.release

    def recording_release(self: ModelLease) -> None:
        threads.append(threading.current_thread())
        release(self)

    monkeypatch.setattr(ModelLease, "release", recording_release)
    body = {"text": LONG_TEXT, "speaker_id": "demo", "stream": True, "format": "pcm"}
    with httpx.Client(timeout=60) as http:
        response = http.post(f"{server.url}/api/v1/tts", json=body)
    assert response.status_code == 200
    model = server.state.registry.get("default")
    wait_until(lambda: model.holders == 0 and server.state.synthesis.active == 0)
    assert threads
    assert set(threads) == {server.thread}  # the event loop's thread, never a worker's


def _broken_speakers(tmp_path: Path, demo_dir: Path) -> Path:
    good = yaml.safe_load((demo_dir / "speakers.yaml").read_text())[0]
    speakers = [good, {**good, "id": "lost", "name": "Lost", "refAudio": str(tmp_path / "gone.wav")}]
    path = tmp_path / "speakers.yaml"
    path.write_text(yaml.safe_dump(speakers))
    return path


def test_a_misconfigured_speaker_is_reported_and_not_retryable(
    serve, demo_settings, demo_dir: Path, tmp_path: Path, caplog
) -> None:
    speakers = _broken_speakers(tmp_path, demo_dir)
    with caplog.at_level(logging.INFO):
        server = serve(**demo_settings, speakers_file=speakers)
        server.wait_ready()
    logged = [r for r in caplog.records if r.getMessage() == "speaker misconfigured"]
    assert [r.speaker for r in logged] == ["lost"]  # type: ignore[attr-defined]
    with httpx.Client(timeout=60) as http:
        ready = http.get(f"{server.url}/ready")
        # The pod serves its other speakers, and says which one cannot work and why.
        assert ready.status_code == 200
        assert "gone.wav" in ready.json()["misconfigured_speakers"]["lost"]
        assert metric_value(http.get(f"{server.url}/metrics").text, "gsv_speakers_misconfigured") == 1
        response = http.post(f"{server.url}/api/v1/tts", json={"text": "Hi.", "speaker_id": "lost"})
        assert response.status_code == 422
        assert "retry-after" not in response.headers
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("misconfigured", "speaker_id")
        assert "lost" in error["message"]
        assert "gone.wav" in error["message"]
        listed = http.get(f"{server.url}/api/v1/speakers").json()["speakers"]
        assert {s["id"]: s["problem"] is not None for s in listed} == {"demo": False, "lost": True}
        good = http.post(f"{server.url}/api/v1/tts", json={"text": "Hi.", "speaker_id": "demo"})
        assert good.status_code == 200


def test_a_stream_that_fails_after_its_first_chunk_is_aborted(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False)
    server.wait_ready()
    sovits = server.state.registry.get("default").sovits
    vocode = sovits._run_batch
    calls = 0

    def fail_second(items):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls >= 2:
            return [RuntimeError("vocoder fault")] * len(items)
        return vocode(items)

    sovits._run_batch = fail_second
    body = {"text": LONG_TEXT, "speaker_id": "demo", "stream": True, "format": "wav"}
    received: list[bytes] = []
    with (
        httpx.Client(timeout=60) as http,
        http.stream("POST", f"{server.url}/api/v1/tts", json=body) as response,
    ):
        assert response.status_code == 200
        # The client cannot mistake the truncated audio for a whole answer: the connection breaks.
        with pytest.raises(httpx.RemoteProtocolError):
            received.extend(response.iter_raw())
    assert received  # the first sentence did arrive
    wait_until(lambda: server.state.synthesis.active == 0)


def test_a_stream_whose_first_sentence_fails_gets_an_error_answer(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False)
    server.wait_ready()
    server.state.registry.get("default").sovits._run_batch = lambda items: (
        [CheckpointError("bad")] * len(items)
    )
    body = {"text": LONG_TEXT, "speaker_id": "demo", "stream": True}
    response = httpx.post(f"{server.url}/api/v1/tts", json=body, timeout=60)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "misconfigured"


def test_streams_count_against_the_queue_from_admission(serve, demo_settings) -> None:
    server = serve(**demo_settings, cache_enabled=False, max_queue=3)
    server.wait_ready()
    state = server.state
    model = state.registry.get("default")
    gate = StageGate(model.gpt)
    speaker = state.speakers.get("demo")
    assert speaker is not None
    loop = model.gpt._task.get_loop()  # the server's event loop

    async def burst() -> list[object]:
        options = SynthesisOptions(text="Burst.", speaker_id="demo", stream=True, format="pcm")
        tasks = [asyncio.ensure_future(state.synthesis.stream(options, speaker)) for _ in range(6)]
        await asyncio.sleep(0)
        done, _ = await asyncio.wait(tasks, timeout=2)
        refused = [t.exception() for t in done]
        active = state.synthesis.active
        gate.open()
        streams = await asyncio.gather(*(t for t in tasks if t not in done))
        for stream in streams:
            async for _ in stream.chunks:
                pass
            stream.release()
        return [active, refused]

    active, refused = asyncio.run_coroutine_threadsafe(burst(), loop).result(timeout=60)
    # Three streams were admitted (and counted, so the drain waits for them); the other three were
    # refused at once with 429.
    assert active == 3
    assert len(refused) == 3
    assert all(isinstance(err, OverloadedError) for err in refused)
    wait_until(lambda: state.synthesis.active == 0)


def test_startup_probe_waits_for_a_hanging_load(serve, demo_settings, monkeypatch) -> None:
    release = threading.Event()
    load = Synthesizer.load

    def slow_load(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert release.wait(60)
        return load(*args, **kwargs)

    monkeypatch.setattr(Synthesizer, "load", slow_load)
    server = serve(**demo_settings)
    with httpx.Client(timeout=10) as http:
        wait_until(lambda: http.get(f"{server.url}/ready").json()["status"] == "loading")
        # Alive, but start-up is not over: the startup probe keeps failing, so a load that never
        # ends gets the pod restarted after the probe's budget (liveness is not asked meanwhile).
        assert http.get(f"{server.url}/health").status_code == 200
        assert http.get(f"{server.url}/startup").status_code == 503
        release.set()
        server.wait_ready()
        assert http.get(f"{server.url}/startup").status_code == 200


def test_a_failed_load_ends_start_up_and_fails_liveness(serve, demo_settings, monkeypatch) -> None:
    def broken_load(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise CheckpointError("narrator.pth: truncated")

    monkeypatch.setattr(Synthesizer, "load", broken_load)
    server = serve(**demo_settings)
    with httpx.Client(timeout=10) as http:
        wait_until(lambda: http.get(f"{server.url}/health").status_code == 503)
        assert "truncated" in http.get(f"{server.url}/health").json()["error"]
        # Start-up is over (badly): the liveness probe, not the startup budget, restarts the pod.
        assert http.get(f"{server.url}/startup").status_code == 200
        assert http.get(f"{server.url}/ready").json()["status"] == "failed"
