"""The operator's Deployment and ConfigMap fit the server they run: every variable, path and file."""

from __future__ import annotations

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
    assert {c.LIVENESS_PATH, c.READINESS_PATH, "/metrics"} <= paths
