"""Exception handlers: every failure, the framework's own included, answers in the one error shape."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voice_server.api.access_log import note_error
from voice_server.errors import (
    FRAMEWORK_CODES,
    ApiError,
    InternalError,
    InvalidInputError,
    error_body,
    to_response,
)

log = logging.getLogger(__name__)


def error_json(err: ApiError) -> JSONResponse:
    """An :class:`ApiError` as a JSON response."""
    response = to_response(err)
    return JSONResponse(response.body, status_code=response.status, headers=response.headers)


def _field_of(loc: tuple[int | str, ...]) -> str:
    """``("body", "speed")`` → ``speed``; the field a client must fix."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def add_exception_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        note_error(request.scope, err.code)
        return error_json(err)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]
        # An unparsable body has a character offset where a field name would be.
        field = "body" if first.get("type") == "json_invalid" else _field_of(tuple(first.get("loc", ())))
        return error_json(InvalidInputError(f"{field}: {first.get('msg', 'invalid value')}", field=field))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        code = FRAMEWORK_CODES.get(err.status_code, f"http_{err.status_code}")
        body = error_body(code, str(err.detail))
        return JSONResponse(body, status_code=err.status_code, headers=getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, err: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=err)
        return error_json(InternalError("internal error; see the server log"))
