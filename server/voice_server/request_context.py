"""Per-request id and access logging: one JSON line per request, the id echoed in a header."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from voice_server.logs import request_id_var
from voice_server.metrics import ServerMetrics

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
log = logging.getLogger("voice_server.access")


def route_label(request: Request) -> str:
    """The matched route's path template (bounded label values), or 'unmatched'.

    Read after routing: the router records the matched route in the request scope.
    """
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


def make_middleware(
    metrics: ServerMetrics,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """The HTTP middleware: assigns the id, times the request, counts it and logs it."""

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        start = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            request_id_var.reset(token)
        route = route_label(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        elapsed = time.perf_counter() - start
        metrics.requests.labels(route=route, status=str(response.status_code)).inc()
        if route not in ("/metrics", "/health", "/ready"):
            metrics.request_latency.labels(route=route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "latency_ms": round(elapsed * 1000, 2),
                },
            )
        return response

    return middleware
