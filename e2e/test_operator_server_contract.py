"""The operator's Deployment and ConfigMap fit the server they run: every variable, path and file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from voice_operator import constants as c
from voice_operator.manifests.configmap import render_speakers
from voice_operator.manifests.deployment import server_env
from voice_operator.spec import parse_spec
from voice_server.app import create_app
from voice_server.settings import ENV_PREFIX, ServerSettings
from voice_server.speakers import parse_speakers

SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.yaml"))


def _spec(sample: Path):  # type: ignore[no-untyped-def]
    return parse_spec(yaml.safe_load(sample.read_text())["spec"])


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_every_variable_the_operator_sets_is_a_valid_server_setting(
    sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env(_spec(sample), "/models")
    assert c.SERVER_ENV_PREFIX == ENV_PREFIX
    for variable in env:
        monkeypatch.setenv(variable["name"], variable["value"])
    settings = ServerSettings()  # extra="forbid": an unknown variable would be refused here
    for variable in env:
        field = variable["name"].removeprefix(ENV_PREFIX).lower()
        assert field in ServerSettings.model_fields, variable["name"]
    assert settings.port == c.SERVER_PORT
    assert str(settings.speakers_file) == f"{c.CONFIG_DIR}/{c.SPEAKERS_KEY}"


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_rendered_speakers_are_read_back_by_the_server(sample: Path) -> None:
    spec = _spec(sample)
    parsed = parse_speakers(render_speakers(spec.speakers), base_dir=Path("/models"))
    assert list(parsed) == [speaker.id for speaker in spec.speakers]
    for speaker in spec.speakers:
        read = parsed[speaker.id]
        assert read.prompt_text == speaker.prompt_text
        assert read.ref_audio.is_absolute()


def test_probe_paths_are_server_routes() -> None:
    paths = set(create_app(ServerSettings()).openapi()["paths"])
    assert {c.STARTUP_PATH, c.LIVENESS_PATH, c.READINESS_PATH, c.METRICS_PATH} <= paths


def test_the_startup_probe_fails_while_the_model_loads_and_passes_once_it_serves(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The probe paths the operator renders, asked of a real app while it loads and once it is up.
    from fastapi.testclient import TestClient

    from gpt_sovits.pipeline import Synthesizer

    loading = threading.Event()
    release = threading.Event()
    load = Synthesizer.load

    def held_load(*args, **kwargs):  # type: ignore[no-untyped-def]
        loading.set()
        assert release.wait(60)
        return load(*args, **kwargs)

    monkeypatch.setattr(Synthesizer, "load", held_load)
    app = create_app(ServerSettings(demo=True, demo_dir=tmp_path / "demo", warmup=False))
    with TestClient(app) as http:
        assert loading.wait(120)
        assert http.get(c.STARTUP_PATH).status_code == 503
        assert http.get(c.READINESS_PATH).status_code == 503
        assert http.get(c.LIVENESS_PATH).status_code == 200
        release.set()
        deadline = time.monotonic() + 60
        while http.get(c.READINESS_PATH).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert http.get(c.STARTUP_PATH).status_code == 200


def _find(node: object, key: str) -> dict | None:  # type: ignore[type-arg]
    if isinstance(node, dict):
        if key in node:
            return node[key]  # type: ignore[no-any-return]
        children: list[object] = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find(child, key)
        if found is not None:
            return found
    return None


def test_the_crd_accepts_exactly_the_languages_the_server_reads() -> None:
    from gpt_sovits.text.frontend import KNOWN_LANGUAGES

    crd = yaml.safe_load((Path(__file__).parents[1] / "crds" / "voiceservices.yaml").read_text())
    prompt_language = _find(crd, "promptLanguage")
    assert prompt_language is not None
    assert set(prompt_language["enum"]) == set(KNOWN_LANGUAGES)
