"""Domain errors of the HTTP service and the one table mapping them to HTTP responses.

Every error body has the shape ``{"error": {"code", "message", "field"}}``; overload and
not-ready answers carry ``Retry-After``.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from gpt_sovits.errors import CheckpointError, GptSovitsError, TextError, UnsupportedLanguageError


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


class NotFoundError(ApiError):
    """An unknown speaker, voice or model."""

    status = HTTPStatus.NOT_FOUND
    code = "not_found"


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


class DeadlineExceededError(ApiError):
    """The request did not finish within its deadline; the work was cancelled."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "timeout"


@dataclass(frozen=True)
class ErrorResponse:
    """What an error becomes on the wire."""

    status: int
    body: dict[str, dict[str, str | None]]
    headers: dict[str, str]


def to_response(err: ApiError) -> ErrorResponse:
    """The one place an error becomes a status, a JSON body and headers."""
    headers: dict[str, str] = {}
    if err.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(err.retry_after_s)))
    body = {"error": {"code": err.code, "message": err.message, "field": err.field}}
    return ErrorResponse(status=int(err.status), body=body, headers=headers)


def from_model_error(err: GptSovitsError) -> ApiError:
    """Translate an error raised by the model package into an API error."""
    if isinstance(err, UnsupportedLanguageError):
        return UnsupportedError(str(err), field="language")
    if isinstance(err, TextError):
        return InvalidInputError(str(err), field="text")
    if isinstance(err, CheckpointError):
        return NotReadyError(f"model weights unusable: {err}", retry_after_s=30)
    return InvalidInputError(str(err))
