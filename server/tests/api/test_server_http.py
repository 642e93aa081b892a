"""The service over real HTTP: probes, metrics, request ids, auth, errors and body limits."""

from __future__ import annotations

from pathlib import Path

import httpx
from server_api_helpers import metric_value


def test_a_server_without_weights_is_alive_started_but_not_ready(serve, client: httpx.Client) -> None:
    server = serve()
    assert client.get(f"{server.url}/health").json() == {"status": "ok"}
    response = client.get(f"{server.url}/ready")
    assert (response.status_code, response.json()) == (503, {"status": "no model", "models": {}})
    # Start-up is over (it waits for PUT /admin/models/default): the startup probe passes.
    assert client.get(f"{server.url}/startup").status_code == 200


def test_metrics_count_requests_by_route_template_and_status(serve, client: httpx.Client) -> None:
    server = serve()
    client.get(f"{server.url}/api/v1/speakers")
    client.get(f"{server.url}/no/such/thing")
    text = client.get(f"{server.url}/metrics").text
    assert 'gsv_requests_total{route="/api/v1/speakers",status="200"} 1.0' in text
    assert 'gsv_requests_total{route="unmatched",status="404"} 1.0' in text
    assert "gsv_request_latency_seconds_bucket" in text


def test_synthesis_counter_leaves_out_probes_scrapes_and_refusals(
    serve, client: httpx.Client, tmp_path: Path
) -> None:
    speakers = tmp_path / "speakers.yaml"
    speakers.write_text("- {id: narrator, refAudio: n.wav, promptLanguage: en}\n")
    server = serve(speakers_file=speakers)
    fresh = client.get(f"{server.url}/metrics").text
    # Every refusal reason is exported from the first scrape, at 0.
    for reason in ("engine_failed", "not_ready", "overloaded", "timeout"):
        assert f'gsv_synthesis_rejected_total{{reason="{reason}"}} 0.0' in fresh
    for path in ("/health", "/ready", "/startup", "/metrics"):
        client.get(f"{server.url}{path}")
    # No model is loaded: each synthesis route refuses with 503.
    refused = [
        client.post(f"{server.url}/api/v1/tts", json={"text": "Hi.", "speaker_id": "narrator"}),
        client.post(
            f"{server.url}/v1/audio/speech", json={"input": "Hi.", "voice": "narrator", "model": "tts-1"}
        ),
        client.get(
            f"{server.url}/tts",
            params={"text": "Hi.", "text_lang": "en", "ref_audio_path": "narrator", "prompt_lang": "en"},
        ),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(503, "not_ready")] * 3
    # A body that is not a synthesis request at all never reaches synthesis.
    assert client.post(f"{server.url}/api/v1/tts", json={}).status_code == 422
    text = client.get(f"{server.url}/metrics").text
    assert metric_value(text, "gsv_synthesis_requests_total") == 0
    assert metric_value(text, 'gsv_synthesis_rejected_total{reason="not_ready"}') == 3
    # The HTTP counter still sees everything.
    assert metric_value(text, 'gsv_requests_total{route="/ready",status="503"}') == 1
    assert metric_value(text, 'gsv_requests_total{route="/api/v1/tts",status="422"}') == 1
    # Probes and scrapes are counted but never timed: they would pull the latency quantiles down.
    for path in ("/health", "/ready", "/startup", "/metrics"):
        assert f'gsv_request_latency_seconds_count{{route="{path}"}}' not in text


def test_request_id_is_echoed_or_generated(serve, client: httpx.Client) -> None:
    server = serve()
    given = client.get(f"{server.url}/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    generated = client.get(f"{server.url}/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(generated.headers["X-Request-ID"]) == 32


def test_unknown_route_has_the_error_shape(serve, client: httpx.Client) -> None:
    response = client.get(f"{serve().url}/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_api_key_guards_api_routes_but_not_probes(serve, client: httpx.Client, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("s3cret\n")
    server = serve(api_key_file=key_file)
    denied = client.get(f"{server.url}/api/v1/speakers")
    assert denied.status_code == 401
    assert denied.json()["error"] == {
        "code": "unauthorized",
        "message": "missing or wrong API key (Authorization: Bearer <key>)",
        "field": "Authorization",
    }
    wrong = client.get(f"{server.url}/api/v1/speakers", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    allowed = client.get(f"{server.url}/api/v1/speakers", headers={"Authorization": "Bearer s3cret"})
    assert allowed.status_code == 200
    for open_path in ("/health", "/ready", "/metrics"):
        # Open means no 401: /ready says 503 here only because this server has no weights.
        assert client.get(f"{server.url}{open_path}").status_code in (200, 503)


def _mount_secret(folder: Path, version: str, key: str) -> None:
    """Write ``key`` the way the kubelet updates a Secret volume: a new copy, then a symlink swap."""
    (folder / version).mkdir()
    (folder / version / "api-key").write_text(key)
    link = folder / "..data_tmp"
    link.symlink_to(version)
    link.replace(folder / "..data")
    if not (folder / "api-key").is_symlink():
        (folder / "api-key").symlink_to("..data/api-key")


def test_a_rotated_api_key_takes_effect_without_restart(serve, client: httpx.Client, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    _mount_secret(secret, "..v1", "first-key\n")
    server = serve(api_key_file=secret / "api-key")
    url = f"{server.url}/api/v1/speakers"

    def status(key: str) -> int:
        return client.get(url, headers={"Authorization": f"Bearer {key}"}).status_code

    assert (status("first-key"), status("second-key")) == (200, 401)
    _mount_secret(secret, "..v2", "second-key\n")
    assert (status("first-key"), status("second-key")) == (401, 200)
    # A rotation to an empty file is refused: the last good key stays in force.
    _mount_secret(secret, "..v3", "\n")
    assert (status("first-key"), status("second-key")) == (401, 200)


def test_speakers_are_listed_from_the_file(serve, client: httpx.Client, tmp_path: Path) -> None:
    speakers = tmp_path / "speakers.yaml"
    speakers.write_text("- {id: narrator, name: Narrator, refAudio: n.wav, promptLanguage: en}\n")
    body = client.get(f"{serve(speakers_file=speakers).url}/api/v1/speakers").json()
    assert body == {
        "speakers": [
            {
                "id": "narrator",
                "name": "Narrator",
                "language": "en",
                "model": "default",
                "model_version": None,  # no model is loaded
                "problem": None,
            }
        ]
    }


def test_declared_oversized_body_is_refused_with_413(serve, client: httpx.Client) -> None:
    server = serve(max_body_bytes=2048)
    response = client.post(f"{server.url}/api/v1/speakers", content=b"x" * 4096)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
