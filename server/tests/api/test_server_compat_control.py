"""api_v2's control routes: set_gpt_weights, set_sovits_weights and control, as its clients call them."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
from server_api_helpers import StageGate, wait_until

from gpt_sovits.demo import ensure_demo_bundle

KEY = {"Authorization": "Bearer compat-key"}


def _pcm(url: str, http: httpx.Client, seed: int = 5) -> bytes:
    body = {"text": "Whose weights?", "speaker_id": "demo", "seed": seed, "format": "pcm"}
    response = http.post(f"{url}/api/v1/tts", json=body)
    assert response.status_code == 200, response.text
    return response.content


def test_weights_are_swapped_atomically_inside_the_model_folder(serve, demo_settings, tmp_path: Path) -> None:
    other = ensure_demo_bundle(tmp_path / "other", seed=3)
    server = serve(**demo_settings, cache_enabled=False, model_dir=tmp_path)
    server.wait_ready()
    with httpx.Client(timeout=120) as http:
        before = _pcm(server.url, http)
        old_model = server.state.registry.get("default")
        gate = StageGate(old_model.gpt)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            in_flight = pool.submit(_pcm, server.url, http)
            gate.wait_entered()
            swapped = http.get(
                f"{server.url}/set_sovits_weights", params={"weights_path": "other/demo-sovits.pth"}
            )
            assert swapped.status_code == 200, swapped.text
            assert swapped.json() == {"message": "success"}
            gate.open()
            # Admitted before the swap: wholly the old voice.
            assert in_flight.result() == before
        assert server.state.registry.get("default").generation == 2
        assert server.state.registry.get("default").spec.sovits_weights == other.sovits_weights.resolve()
        after_sovits = _pcm(server.url, http)
        assert after_sovits != before
        gpt = http.get(f"{server.url}/set_gpt_weights", params={"weights_path": "other/demo-gpt.ckpt"})
        assert gpt.status_code == 200
        assert _pcm(server.url, http) != after_sovits


def test_weights_outside_the_model_folder_or_missing_are_refused(
    serve, demo_settings, tmp_path: Path
) -> None:
    server = serve(**demo_settings, model_dir=tmp_path)
    server.wait_ready()
    with httpx.Client(timeout=60) as http:
        for path in ("../../etc/passwd", "/etc/hostname", "missing.pth"):
            response = http.get(f"{server.url}/set_gpt_weights", params={"weights_path": path})
            assert response.status_code == 422, path
            assert response.json()["error"]["field"] == "weights_path"
        assert server.state.registry.get("default").generation == 1  # nothing was swapped


def test_control_routes_are_behind_the_api_key(serve, demo_settings, tmp_path: Path) -> None:
    server = serve(**demo_settings, api_key="compat-key", model_dir=tmp_path)
    server.wait_ready()
    with httpx.Client(timeout=60) as http:
        for route, params in (
            ("/set_gpt_weights", {"weights_path": "x.ckpt"}),
            ("/set_sovits_weights", {"weights_path": "x.pth"}),
            ("/control", {"command": "restart"}),
        ):
            assert http.get(f"{server.url}{route}", params=params).status_code == 401, route


def test_control_restart_reloads_and_exit_drains(serve, demo_settings) -> None:
    server = serve(**demo_settings, api_key="compat-key")
    server.wait_ready()
    with httpx.Client(timeout=120, headers=KEY) as http:
        restarted = http.get(f"{server.url}/control", params={"command": "restart"})
        assert (restarted.status_code, restarted.json()) == (200, {"message": "restarted"})
        assert server.state.registry.get("default").generation == 2
        assert _pcm(server.url, http)  # serving on the reloaded model
        unknown = http.post(f"{server.url}/control", json={"command": "reboot"})
        assert (unknown.status_code, unknown.json()["error"]["field"]) == (422, "command")
        exiting = http.post(f"{server.url}/control", json={"command": "exit"})
        assert (exiting.status_code, exiting.json()) == (200, {"message": "exiting"})
    wait_until(lambda: not server.thread.is_alive(), timeout_s=30)
