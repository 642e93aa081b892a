"""The one mapping from errors to HTTP responses."""

from __future__ import annotations

from gpt_sovits.errors import AudioError, CheckpointError, TextError, UnsupportedLanguageError
from voice_server.engine.batcher import BatcherFailedError, BatcherOverloadedError, BatcherStoppedError
from voice_server.errors import NotFoundError, OverloadedError, to_response, translate


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


def _answer(err: BaseException, field: str | None = None):  # type: ignore[no-untyped-def]
    api = translate(err, field=field)
    assert api is not None
    return to_response(api)


def test_model_errors_map_to_client_errors() -> None:
    assert _answer(UnsupportedLanguageError("ja")).status == 422
    assert _answer(UnsupportedLanguageError("ja")).body["error"]["field"] == "language"
    assert _answer(TextError("empty")).status == 422


def test_unusable_files_are_not_retryable() -> None:
    # A missing clip or a truncated checkpoint stays broken until the configuration changes:
    # a Retry-After would have clients retry for ever.
    for err in (
        CheckpointError("x.ckpt: truncated"),
        AudioError("ref.wav: not found"),
        FileNotFoundError("y"),
    ):
        answer = _answer(err, field="speaker_id")
        assert (answer.status, answer.body["error"]["code"]) == (422, "misconfigured")
        assert answer.body["error"]["field"] == "speaker_id"
        assert "Retry-After" not in answer.headers


def test_engine_errors_map_to_availability_errors() -> None:
    overloaded = _answer(BatcherOverloadedError(retry_after_s=3.2))
    assert (overloaded.status, overloaded.headers) == (429, {"Retry-After": "3"})
    stopped = _answer(BatcherStoppedError("gpt stopping"))
    assert stopped.status == 503
    assert "Retry-After" in stopped.headers
    failed = _answer(BatcherFailedError("gpt stage failed: RuntimeError: boom"))
    assert (failed.status, failed.body["error"]["code"]) == (503, "engine_failed")
    assert "boom" in str(failed.body["error"]["message"])
    assert _answer(TimeoutError()).body["error"]["code"] == "timeout"


def test_an_unexpected_error_is_left_to_the_bug_handler() -> None:
    assert translate(KeyError("x")) is None
