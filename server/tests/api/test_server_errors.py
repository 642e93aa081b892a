"""The one mapping from errors to HTTP responses."""

from __future__ import annotations

from gpt_sovits.errors import CheckpointError, TextError, UnsupportedLanguageError
from voice_server.errors import (
    NotFoundError,
    OverloadedError,
    from_model_error,
    to_response,
)


def test_body_shape_and_status() -> None:
    response = to_response(NotFoundError("unknown speaker 'bob'", field="speaker_id"))
    assert response.status == 404
    assert response.body == {
        "error": {"code": "not_found", "message": "unknown speaker 'bob'", "field": "speaker_id"}
    }
    assert response.headers == {}


def test_overload_carries_retry_after_in_whole_seconds() -> None:
    response = to_response(OverloadedError("queue full", retry_after_s=0.2))
    assert response.status == 429
    assert response.headers == {"Retry-After": "1"}


def test_model_errors_map_to_client_or_availability_errors() -> None:
    assert to_response(from_model_error(UnsupportedLanguageError("ja"))).status == 422
    assert from_model_error(UnsupportedLanguageError("ja")).field == "language"
    assert to_response(from_model_error(TextError("empty"))).status == 422
    unusable = to_response(from_model_error(CheckpointError("x.ckpt: truncated")))
    assert unusable.status == 503
    assert "Retry-After" in unusable.headers
