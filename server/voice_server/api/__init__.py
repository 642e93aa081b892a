"""The HTTP layer: routes, request schemas and their conversion to options, auth, middleware.

It may import :mod:`voice_server.synthesis` and :mod:`voice_server.engine`; they never import it.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every router of the service, in the order they are documented."""
    from voice_server.api import (
        routes_admin,
        routes_compat,
        routes_openai,
        routes_ops,
        routes_speakers,
        routes_tts,
    )

    return [
        routes_ops.router,
        routes_speakers.router,
        routes_tts.router,
        routes_openai.router,
        routes_compat.router,
        routes_admin.router,
    ]
