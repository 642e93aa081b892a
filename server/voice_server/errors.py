"""Every error the service answers with: its classes, its one body shape, its one translation.

The body is always ``{"error": {"code", "message", "field"}}``; overload and not-ready answers
carry ``Retry-After``. :func:`translate` is the only place an exception raised below the HTTP
layer (by the model package or the engine) becomes an :class:`ApiError`, so a request, a stream,
the warm-up and the admin routes all answer one failure the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from gpt_sovits.errors import AudioError, CheckpointError, GptSovitsError, TextError, UnsupportedLanguageError
from voice_server.engine.batcher import BatcherFailedError, BatcherOverloadedError, BatcherStoppedError

# Retry-After while the server drains, a model loads or is swapped.
NOT_READY_RETRY_S = 5.0


class ApiError(Exception):
    """An error with a fixed HTTP status; subclasses name the condition."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    code: str = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, retry_after_s: float | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.retry_after_s = retry_after_s


class InvalidInputError(ApiError):
    """A value is well-formed but not acceptable (empty text, bad option combination)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "invalid_input"


class UnsupportedError(ApiError):
    """A language, format or option this server does not support."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "unsupported"


class MisconfiguredError(ApiError):
    """A speaker or model whose files cannot work (missing clip, no HuBERT for a transcript, bad
    weights). Retrying cannot help, so no Retry-After: the configuration must change."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "misconfigured"


class NotFoundError(ApiError):
    """An unknown speaker, voice or model."""

    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class MethodNotAllowedError(ApiError):
    """The route exists, not with this method."""

    status = HTTPStatus.METHOD_NOT_ALLOWED
    code = "method_not_allowed"


class PayloadTooLargeError(ApiError):
    """The body or the text exceeds the configured limit."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


class UnauthorizedError(ApiError):
    """Missing or wrong API key."""

    status = HTTPStatus.UNAUTHORIZED
    code = "unauthorized"


class ForbiddenError(ApiError):
    """The operation is switched off on this server."""

    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class OverloadedError(ApiError):
    """The request queue is full; try again after ``retry_after_s``."""

    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "overloaded"


class NotReadyError(ApiError):
    """Model not loaded or warming up, or the server is draining."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "not_ready"


class EngineFailedError(ApiError):
    """A model stage stopped for good; the process reports unhealthy and is restarted."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "engine_failed"


class DeadlineExceededError(ApiError):
    """The request did not finish within its deadline; the work was cancelled."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "timeout"


class NotImplementedHereError(ApiError):
    """This server cannot do it in the way it runs (e.g. exit when embedded in another program)."""

    status = HTTPStatus.NOT_IMPLEMENTED
    code = "not_implemented"


class InternalError(ApiError):
    """A bug: the log has the traceback."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR
    code = "internal"


#: Codes of the statuses the web framework raises itself (routing, body limit).
FRAMEWORK_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}

#: Answers that refuse a synthesis request: no room for it (429), no way to serve it now (503).
REFUSAL_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE})


def refusal_codes() -> list[str]:
    """The codes of the errors that refuse a synthesis request."""
    return sorted({cls.code for cls in ApiError.__subclasses__() if cls.status in REFUSAL_STATUSES})


@dataclass(frozen=True)
class ErrorResponse:
    """What an error becomes on the wire."""

    status: int
    body: dict[str, dict[str, str | None]]
    headers: dict[str, str]


def error_body(code: str, message: str, field: str | None = None) -> dict[str, dict[str, str | None]]:
    """The JSON body of every error answer."""
    return {"error": {"code": code, "message": message, "field": field}}


def to_response(err: ApiError) -> ErrorResponse:
    """The one place an error becomes a status, a JSON body and headers."""
    headers: dict[str, str] = {}
    if err.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(err.retry_after_s)))
    return ErrorResponse(int(err.status), error_body(err.code, err.message, err.field), headers)


def translate(err: BaseException, *, field: str | None = None) -> ApiError | None:
    """The API error for a failure raised below the HTTP layer; None for an unexpected one (a bug).

    ``field`` names the request field whose files are at fault (a speaker id, a weights path).
    """
    if isinstance(err, ApiError):
        return err
    if isinstance(err, TimeoutError):  # before OSError, of which it is a subclass
        return DeadlineExceededError("the request did not finish within its deadline")
    if isinstance(err, UnsupportedLanguageError):
        return UnsupportedError(str(err), field="language")
    if isinstance(err, TextError):
        return InvalidInputError(str(err), field="text")
    if isinstance(err, CheckpointError | AudioError | OSError):
        return MisconfiguredError(str(err), field=field)
    if isinstance(err, GptSovitsError):
        return InvalidInputError(str(err))
    if isinstance(err, BatcherOverloadedError):
        return OverloadedError("the server is at capacity; retry later", retry_after_s=err.retry_after_s)
    if isinstance(err, BatcherFailedError):
        # Another replica can serve the retry while this one restarts.
        return EngineFailedError(
            f"the synthesis engine failed and this server will restart: {err}",
            retry_after_s=NOT_READY_RETRY_S,
        )
    if isinstance(err, BatcherStoppedError):
        return NotReadyError("the model is being replaced or stopped", retry_after_s=NOT_READY_RETRY_S)
    return None
