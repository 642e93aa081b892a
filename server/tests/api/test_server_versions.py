"""v2ProPlus voices over HTTP: served on every route, reported by version, speaker embeddings cached."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from server_api_helpers import metric_value

from gpt_sovits.demo import DemoBundle, ensure_demo_bundle, synthetic_reference

KEY = {"Authorization": "Bearer pro-key"}


@pytest.fixture
def pro_server(pro_demo_server):  # type: ignore[no-untyped-def]
    return pro_demo_server


def _metric(server, name: str) -> float:  # type: ignore[no-untyped-def]
    return metric_value(httpx.get(f"{server.url}/metrics").text, name)


def test_versions_are_reported(pro_server) -> None:
    ready = httpx.get(f"{pro_server.url}/ready").json()
    assert ready["models"]["default"]["version"] == "v2ProPlus"
    speakers = httpx.get(f"{pro_server.url}/api/v1/speakers", headers=KEY).json()["speakers"]
    assert {s["model_version"] for s in speakers} == {"v2ProPlus"}


def test_every_route_speaks_and_streams(pro_server) -> None:
    with httpx.Client(timeout=120, headers=KEY) as http:
        whole = http.post(
            f"{pro_server.url}/api/v1/tts", json={"text": "Hello. 你好。", "speaker_id": "demo"}
        )
        streamed = http.post(
            f"{pro_server.url}/api/v1/tts",
            json={"text": "Hello. 你好。", "speaker_id": "demo", "stream": True},
        )
        openai = http.post(
            f"{pro_server.url}/v1/audio/speech",
            json={"model": "m", "input": "Hello.", "voice": "demo", "response_format": "wav"},
        )
        compat = http.get(
            f"{pro_server.url}/tts", params={"text": "你好。", "text_lang": "zh", "ref_audio_path": "demo"}
        )
    for response in (whole, streamed, openai, compat):
        assert response.status_code == 200, response.text
        audio, rate = sf.read(io.BytesIO(response.content), dtype="float32")
        assert rate == 32000
        assert audio.shape[0] > 0
        assert np.abs(audio).max() > 0


def test_the_speaker_embedding_is_computed_once_per_reference(pro_server) -> None:
    body = {"text": "Once only.", "speaker_id": "demo", "format": "pcm"}  # no seed: never the audio cache
    with httpx.Client(timeout=120, headers=KEY) as http:
        assert http.post(f"{pro_server.url}/api/v1/tts", json=body).status_code == 200
        runs, hits = (
            _metric(pro_server, "gsv_speaker_verification_runs_total"),
            _metric(pro_server, "gsv_reference_cache_hits_total"),
        )
        for _ in range(3):
            assert http.post(f"{pro_server.url}/api/v1/tts", json=body).status_code == 200
        assert _metric(pro_server, "gsv_speaker_verification_runs_total") == runs
        assert _metric(pro_server, "gsv_reference_cache_hits_total") >= hits + 3
        # An uploaded clip is a new reference: it gets an embedding of its own, once.
        clip = io.BytesIO()
        sf.write(clip, synthetic_reference(seed=8, seconds=4.0), 32000, format="WAV")
        upload = http.post(
            f"{pro_server.url}/api/v1/tts/upload",
            data={"text": "My voice.", "prompt_text": ""},
            files={"ref_audio": ("me.wav", clip.getvalue(), "audio/wav")},
        )
        assert upload.status_code == 200, upload.text
        assert _metric(pro_server, "gsv_speaker_verification_runs_total") == runs + 1


def test_swaps_between_versions(serve, demo_settings, tmp_path: Path) -> None:
    v2 = ensure_demo_bundle(tmp_path, seed=4)
    pro: DemoBundle = ensure_demo_bundle(tmp_path, seed=4, version="v2Pro")
    server = serve(**demo_settings, api_key="pro-key", model_dir=tmp_path)
    server.wait_ready()
    with httpx.Client(timeout=120, headers=KEY) as http:
        assert http.get(f"{server.url}/ready").json()["models"]["default"]["version"] == "v2"
        to_pro = {
            "gpt_weights": str(pro.gpt_weights.relative_to(tmp_path)),
            "sovits_weights": str(pro.sovits_weights.relative_to(tmp_path)),
            "sv_weights": str(pro.sv_weights.relative_to(tmp_path)) if pro.sv_weights else None,
        }
        # Without its speaker-verification file a Pro checkpoint is refused, naming the file.
        without_sv = http.put(f"{server.url}/admin/models/other", json={**to_pro, "sv_weights": None})
        assert without_sv.status_code == 422
        assert without_sv.json()["error"]["code"] == "misconfigured"
        assert pro.sovits_weights.name in without_sv.json()["error"]["message"]
        loaded = http.put(f"{server.url}/admin/models/default", json=to_pro)
        assert (loaded.status_code, loaded.json()["version"]) == (200, "v2Pro"), loaded.text
        pro_audio = http.post(f"{server.url}/api/v1/tts", json={"text": "Pro.", "speaker_id": "demo"})
        assert pro_audio.status_code == 200
        back = {"gpt_weights": v2.gpt_weights.name, "sovits_weights": v2.sovits_weights.name}
        assert http.put(f"{server.url}/admin/models/default", json=back).json()["version"] == "v2"
