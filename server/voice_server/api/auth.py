"""Optional API-key auth: a Bearer token from the settings or a mounted file."""

from __future__ import annotations

import hmac

from fastapi import Request

from voice_server.api.state_access import server_state
from voice_server.errors import ForbiddenError, UnauthorizedError
from voice_server.settings import ServerSettings


class ApiKeyError(ValueError):
    """The configured key file cannot be used."""


def load_api_key(settings: ServerSettings) -> str | None:
    """The key requests must present, or None when auth is off."""
    if settings.api_key is not None:
        key = settings.api_key.get_secret_value().strip()
    elif settings.api_key_file is not None:
        try:
            key = settings.api_key_file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ApiKeyError(f"api key file {settings.api_key_file}: {err.strerror}") from None
    else:
        return None
    if not key:
        raise ApiKeyError("the API key is empty")
    return key


def check_bearer(expected: str | None, authorization: str | None) -> None:
    """Raise :class:`UnauthorizedError` unless ``authorization`` is ``Bearer <expected>``."""
    if expected is None:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise UnauthorizedError(
            "missing or wrong API key (Authorization: Bearer <key>)", field="Authorization"
        )


async def require_api_key(request: Request) -> None:
    """FastAPI dependency guarding the API routes; probes and metrics do not use it."""
    check_bearer(server_state(request).api_key, request.headers.get("authorization"))


async def require_admin_key(request: Request) -> None:
    """Guard of the admin routes: they exist only on a server that has an API key."""
    expected = server_state(request).api_key
    if expected is None:
        raise ForbiddenError("the admin API is off: start the server with an API key (VOICE_SERVER_API_KEY)")
    check_bearer(expected, request.headers.get("authorization"))
