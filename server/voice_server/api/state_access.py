"""The route handlers' one way to reach the application's :class:`~voice_server.state.ServerState`."""

from __future__ import annotations

from fastapi import Request

from voice_server.state import ServerState


def server_state(request: Request) -> ServerState:
    """The state of the app serving ``request``."""
    state: ServerState = request.app.state.server
    return state
