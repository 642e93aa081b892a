"""Optional API-key auth: a Bearer token checked against the key in force (see voice_server.api_key)."""

from __future__ import annotations

import hmac

from fastapi import Request

from voice_server.api.state_access import server_state
from voice_server.errors import ForbiddenError, UnauthorizedError


def check_bearer(expected: str | None, authorization: str | None) -> None:
    """Raise :class:`UnauthorizedError` unless ``authorization`` is ``Bearer <expected>``."""
    if expected is None:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise UnauthorizedError(
            "missing or wrong API key (Authorization: Bearer <key>)", field="Authorization"
        )


def _expected(request: Request) -> str | None:
    """The key requests must present now, or None when auth is off."""
    key = server_state(request).api_key
    return None if key is None else key.current()


async def require_api_key(request: Request) -> None:
    """FastAPI dependency guarding the API routes; probes and metrics do not use it."""
    check_bearer(_expected(request), request.headers.get("authorization"))


async def require_admin_key(request: Request) -> None:
    """Guard of the admin routes: they exist only on a server that has an API key."""
    expected = _expected(request)
    if expected is None:
        raise ForbiddenError("the admin API is off: start the server with an API key (VOICE_SERVER_API_KEY)")
    check_bearer(expected, request.headers.get("authorization"))
