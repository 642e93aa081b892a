"""Voices: uploaded reference clips, speakers reloaded from their file, models loaded and swapped."""

from __future__ import annotations

import concurrent.futures
import io
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
import yaml
from server_api_helpers import StageGate, wait_until

from gpt_sovits.demo import ensure_demo_bundle, synthetic_reference

KEY = {"Authorization": "Bearer admin-key"}


def _clip(seconds: float, fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, synthetic_reference(seed=5, seconds=seconds), 32000, format=fmt)
    return buffer.getvalue()


def _upload(url: str, clip: bytes, **fields: str) -> httpx.Response:
    data = {"text": "Say this in my voice.", "prompt_text": "这是参考音频。", "seed": "3", **fields}
    files = {"ref_audio": ("me.wav", clip, "audio/wav")}
    return httpx.post(f"{url}/api/v1/tts/upload", data=data, files=files, timeout=120)


def test_uploaded_clip_is_a_voice_for_that_request(demo_server) -> None:
    response = _upload(demo_server.url, _clip(4.0))
    assert response.status_code == 200, response.text
    audio, rate = sf.read(io.BytesIO(response.content))
    assert rate == 32000
    assert audio.shape[0] > 0
    reference_free = _upload(demo_server.url, _clip(4.0, "FLAC"), prompt_text="", format="pcm")
    assert reference_free.status_code == 200
    assert reference_free.headers["content-type"] == "audio/pcm"


@pytest.mark.parametrize(
    ("clip", "status", "message"),
    [
        (_clip(1.0), 422, "3 to 10 seconds"),
        (_clip(12.0), 422, "3 to 10 seconds"),
        (b"this is not audio at all", 422, "not decodable"),
        (b"", 422, "empty"),
    ],
)
def test_unusable_clips_are_refused_by_field(demo_server, clip, status, message) -> None:
    response = _upload(demo_server.url, clip)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["field"] == "ref_audio"
    assert message in error["message"]
    assert "0x" not in error["message"]  # no object reprs leak into messages


def test_oversized_clip_is_413(serve, demo_settings) -> None:
    server = serve(**demo_settings, max_upload_bytes=64 * 1024, warmup=False)
    server.wait_ready()
    response = _upload(server.url, _clip(4.0))
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "ref_audio"


def test_speakers_file_changes_apply_without_restart(
    serve, demo_settings, demo_dir: Path, tmp_path: Path
) -> None:
    speakers_file = tmp_path / "speakers.yaml"
    reference = tmp_path / "voice.wav"
    shutil.copy(demo_dir / "demo-reference.wav", reference)
    first = [{"id": "alice", "refAudio": "voice.wav", "promptText": "你好。", "promptLanguage": "zh"}]
    speakers_file.write_text(yaml.safe_dump(first))
    server = serve(**demo_settings, speakers_file=speakers_file)
    server.wait_ready()
    assert [s["id"] for s in httpx.get(f"{server.url}/api/v1/speakers").json()["speakers"]] == ["alice"]
    speakers_file.write_text(yaml.safe_dump([*first, {**first[0], "id": "bob", "name": "Bob"}]))
    response = httpx.post(f"{server.url}/api/v1/tts", json={"text": "Hi.", "speaker": "Bob"}, timeout=60)
    assert response.status_code == 200
    speakers_file.write_text("- id: [not, valid")  # a broken edit keeps the last good speakers
    assert (
        httpx.post(
            f"{server.url}/api/v1/tts", json={"text": "Hi.", "speaker_id": "bob"}, timeout=60
        ).status_code
        == 200
    )


def _pcm(url: str, seed: int, http: httpx.Client) -> bytes:
    body = {"text": "Which model speaks?", "speaker_id": "demo", "seed": seed, "format": "pcm"}
    response = http.post(f"{url}/api/v1/tts", json=body)
    assert response.status_code == 200, response.text
    return response.content


def test_admin_api_needs_a_key(demo_server) -> None:
    response = httpx.get(f"{demo_server.url}/admin/models")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_model_swap_is_atomic_per_request(serve, demo_settings, tmp_path: Path) -> None:
    other = ensure_demo_bundle(tmp_path / "other", seed=1)
    server = serve(**demo_settings, api_key="admin-key", cache_enabled=False)
    server.wait_ready()
    with httpx.Client(timeout=120, headers=KEY) as http:
        models = http.get(f"{server.url}/admin/models", headers=KEY).json()["models"]
        assert [(m["name"], m["generation"]) for m in models] == [("default", 1)]
        old = {seed: _pcm(server.url, seed, http) for seed in range(4)}
        old_model = server.state.registry.get("default")
        gate = StageGate(old_model.gpt)  # holds the requests below on the old model
        new_spec = {"gpt_weights": str(other.gpt_weights), "sovits_weights": str(other.sovits_weights)}
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            during = [pool.submit(_pcm, server.url, seed % 4, http) for seed in range(8)]
            gate.wait_entered()
            wait_until(lambda: server.state.synthesis.active == 8)
            # The swap completes while all eight are in flight on the old model ...
            swapped = http.put(f"{server.url}/admin/models/default", json=new_spec, headers=KEY)
            assert swapped.status_code == 200, swapped.text
            assert swapped.json()["generation"] == 2
            assert server.state.synthesis.active == 8
            new = {seed: _pcm(server.url, seed, http) for seed in range(4)}  # served by the new one
            gate.open()  # ... and they finish after it
            results = [(seed % 4, future.result()) for seed, future in enumerate(during)]
    assert server.state.registry.get("default") is not old_model
    assert all(old[seed] != new[seed] for seed in old)
    # Requests admitted before the swap are wholly the old model's, never a mix.
    for seed, audio in results:
        assert audio == old[seed]


def test_models_can_be_added_used_and_removed(serve, demo_settings, tmp_path: Path) -> None:
    other = ensure_demo_bundle(tmp_path / "other", seed=2)
    speakers_file = tmp_path / "speakers.yaml"
    speakers_file.write_text(
        yaml.safe_dump(
            [
                {"id": "a", "refAudio": str(other.reference_audio), "promptText": "", "model": "default"},
                {"id": "b", "refAudio": str(other.reference_audio), "promptText": "", "model": "second"},
            ]
        )
    )
    server = serve(**demo_settings, api_key="admin-key", speakers_file=speakers_file, warmup=False)
    server.wait_ready()
    with httpx.Client(timeout=120, headers=KEY) as http:
        missing = http.post(f"{server.url}/api/v1/tts", json={"text": "Hi.", "speaker_id": "b"})
        assert missing.status_code == 503
        assert "second" in missing.json()["error"]["message"]
        spec = {"gpt_weights": str(other.gpt_weights), "sovits_weights": str(other.sovits_weights)}
        assert http.put(f"{server.url}/admin/models/second", json=spec).status_code == 200
        assert [m["name"] for m in http.get(f"{server.url}/admin/models").json()["models"]] == [
            "default",
            "second",
        ]
        a = http.post(
            f"{server.url}/api/v1/tts", json={"text": "Hi.", "speaker_id": "a", "seed": 1, "format": "pcm"}
        )
        b = http.post(
            f"{server.url}/api/v1/tts", json={"text": "Hi.", "speaker_id": "b", "seed": 1, "format": "pcm"}
        )
        assert a.status_code == b.status_code == 200
        assert a.content != b.content  # same reference and seed, different weights
        bad = http.put(
            f"{server.url}/admin/models/third", json={**spec, "gpt_weights": str(tmp_path / "nope.ckpt")}
        )
        assert bad.status_code == 422
        assert "nope.ckpt" in bad.json()["error"]["message"]
        assert http.delete(f"{server.url}/admin/models/second").status_code == 204
        assert http.delete(f"{server.url}/admin/models/second").status_code == 404
        gone = http.post(f"{server.url}/api/v1/tts", json={"text": "Hi.", "speaker_id": "b"})
        assert gone.status_code == 503


def test_upload_audio_is_never_cached(demo_server) -> None:
    clip = _clip(4.0)
    first = _upload(demo_server.url, clip, format="pcm")
    second = _upload(demo_server.url, clip, format="pcm")
    assert first.headers["x-cache"] == second.headers["x-cache"] == "miss"
    np.testing.assert_array_equal(np.frombuffer(first.content, "<i2"), np.frombuffer(second.content, "<i2"))


def test_uploads_never_evict_the_speakers_reference_features(demo_server) -> None:
    synthesizer = demo_server.state.registry.get("default").synthesizer
    demo = {"text": "Still cached?", "speaker_id": "demo", "format": "pcm"}
    assert httpx.post(f"{demo_server.url}/api/v1/tts", json=demo, timeout=60).status_code == 200
    before = synthesizer.reference_computations
    for _ in range(6):
        assert _upload(demo_server.url, _clip(3.5), format="pcm").status_code == 200
    assert synthesizer.reference_computations == before + 6
    assert httpx.post(f"{demo_server.url}/api/v1/tts", json=demo, timeout=60).status_code == 200
    assert synthesizer.reference_computations == before + 6  # the speaker's features were still there
