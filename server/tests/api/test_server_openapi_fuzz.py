"""Every operation of the server's OpenAPI document, fuzzed against a live demo server.

Schemathesis sends derandomized, bounded examples (valid and invalid, boundary values first) to
each operation of the document, with the API key set so the admin routes are reached too. One
test requires that no input makes the server answer 5xx; the other that every answer matches the
document: a documented status code and content type, and a body of the documented schema.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gpt_sovits.demo import DemoBundle
from voice_server.app import create_app
from voice_server.settings import ServerSettings

API_KEY = "fuzz-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
# Examples per operation (besides the boundary cases); FUZZ_EXAMPLES=200 for a longer hunt.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
# The model every synthesis route speaks with; fuzzing must not unload it.
DEFAULT_MODEL = "default"


@pytest.fixture(scope="module")
def demo_settings(demo_settings: dict[str, Any]) -> dict[str, Any]:
    """The shared demo settings with an API key (the admin API exists only then) and small bounds.

    Four semantic ids per sentence and 300 characters of text keep each fuzzed synthesis short.
    """
    return {**demo_settings, "api_key": API_KEY, "max_tokens_per_sentence": 4, "max_text_length": 300}


def _document() -> dict[str, Any]:
    # The document an app of this code serves; test_the_live_document_is_the_one_fuzzed checks
    # that the running server serves exactly this. (Loading it from the server inside a fixture,
    # schemathesis.pytest.from_fixture, fails under pytest 9: it writes the removed Node._nodeid.)
    return create_app(ServerSettings(demo=True, api_key=API_KEY)).openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)

fuzz_settings = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


# Random strings name no speaker (404), no language and no format (422), so alone they would
# seldom reach the model. In part of the cases a drawn steer puts known values in those fields
# (the other fields stay as generated); ``None`` leaves the case untouched.
_SPEAKER_FIELDS = ("speaker_id", "voice", "ref_audio_path")
_LANGUAGE_FIELDS = ("language", "text_lang")
STEERS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "speaker": st.sampled_from(["demo", "demo-free"]),
            "language": st.sampled_from(["auto", "zh", "en"]),
            "format": st.sampled_from(["wav", "pcm", "flac", "ogg", "opus", "mp3"]),
        }
    ),
)


def _steer(part: dict[str, Any], steer: dict[str, str], clip: bytes) -> None:
    for name in part:
        if not isinstance(part[name], str | bytes):
            continue
        if name in _SPEAKER_FIELDS:
            part[name] = steer["speaker"]
        elif name in _LANGUAGE_FIELDS:
            part[name] = steer["language"]
        elif name == "format":
            part[name] = steer["format"]
        elif name == "model":
            part[name] = DEFAULT_MODEL
        elif name == "ref_audio":
            part[name] = clip


def _prepare(case: Any, steer: dict[str, str] | None, clip: bytes) -> None:
    """Keep the default model loaded; apply ``steer`` to the case's body and query."""
    if case.method == "DELETE" and case.path_parameters.get("name") == DEFAULT_MODEL:
        # Unloading it would turn every later synthesis into a (documented) 503.
        case.path_parameters["name"] = f"not-{DEFAULT_MODEL}"
    if case.path == "/control":
        # api_v2's exit would stop the server under test; restart (a reload in place) is fuzzed.
        for part in (case.body, case.query):
            if isinstance(part, dict) and part.get("command") == "exit":
                part["command"] = "restart"
    if steer is None:
        return
    for part in (case.body, case.query):
        if isinstance(part, dict):
            _steer(part, steer, clip)
    body = case.body
    # Both speaker fields of /api/v1/tts are optional in the schema, but one of them is needed.
    if case.path == "/api/v1/tts" and isinstance(body, dict) and not {"speaker_id", "speaker"} & body.keys():
        body["speaker_id"] = steer["speaker"]


@pytest.fixture(scope="module")
def clip(demo_dir: Path) -> bytes:
    """A usable reference clip for the upload route: the demo bundle's."""
    return DemoBundle.at(demo_dir).reference_audio.read_bytes()


def test_the_live_document_is_the_one_fuzzed(demo_server: Any) -> None:
    live = httpx.get(f"{demo_server.url}/openapi.json", timeout=10).json()
    assert live == DOCUMENT
    operations = {(method.upper(), path) for path, item in live["paths"].items() for method in item}
    assert ("PUT", "/admin/models/{name}") in operations
    assert len(operations) == 17


@schema.parametrize()
@schema.given(steer=STEERS)
@fuzz_settings
def test_no_input_makes_a_server_error(
    case: Any, steer: dict[str, str] | None, clip: bytes, demo_server: Any
) -> None:
    _prepare(case, steer, clip)
    case.call_and_validate(base_url=demo_server.url, headers=AUTH, checks=[not_a_server_error])


@schema.parametrize()
@schema.given(steer=STEERS)
@fuzz_settings
def test_every_answer_matches_the_document(
    case: Any, steer: dict[str, str] | None, clip: bytes, demo_server: Any
) -> None:
    _prepare(case, steer, clip)
    case.call_and_validate(
        base_url=demo_server.url,
        headers=AUTH,
        checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
    )
