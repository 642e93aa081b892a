"""Per-request id, metrics and access log: one JSON line per request, written when its body ends.

Pure ASGI (not ``BaseHTTPMiddleware``) so a streamed response is timed to its last byte and the
time to the first audio byte is measured where it leaves. A synthesis route hands its
:class:`~voice_server.synthesis.SynthesisReport` to :func:`note_synthesis`, and the line carries it.

A request that asks for synthesis (:func:`note_synthesis_request`) is also counted apart from the
probes and scrapes: as taken on, or as refused (429, 503) with the error code as the reason.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voice_server.errors import REFUSAL_STATUSES
from voice_server.logs import request_id_var
from voice_server.metrics import ServerMetrics
from voice_server.synthesis import StreamAbortedError, SynthesisReport

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Probes and scrapes: counted, but neither timed nor logged (they would drown the log).
_QUIET_ROUTES = frozenset({"/metrics", "/health", "/ready", "/startup"})
log = logging.getLogger("voice_server.access")
# Where a request's synthesis report waits for its log line (this module's own scope keys).
_REPORT_KEY = "gsv.synthesis_report"
_SYNTHESIS_KEY = "gsv.synthesis"
_ERROR_CODE_KEY = "gsv.error_code"


def note_synthesis(scope: Scope, report: SynthesisReport) -> None:
    """Attach what a synthesis did to the access log line of the request in ``scope``."""
    scope[_REPORT_KEY] = report


def note_synthesis_request(scope: Scope) -> None:
    """Count the request in ``scope`` as a synthesis request (its handler asked for audio)."""
    scope[_SYNTHESIS_KEY] = True


def note_error(scope: Scope, code: str) -> None:
    """Record the error code the request in ``scope`` is answered with."""
    scope[_ERROR_CODE_KEY] = code


def route_label(scope: Scope) -> str:
    """The matched route's path template (bounded label values), or 'unmatched'.

    Read after the app ran: the router records the matched route in the scope.
    """
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class _Exchange:
    """What the middleware learns about one response while it is sent."""

    def __init__(self) -> None:
        self.status = 500
        self.audio = False
        self.first_body_at: float | None = None
        self.complete = False


class AccessLogMiddleware:
    """Assigns the request id, counts and times the request, and logs it."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        exchange = _Exchange()
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
                content_type = Headers(raw=headers).get("content-type", "")
                exchange.audio = content_type.startswith(("audio/", "text/event-stream"))
            elif message["type"] == "http.response.body":
                if message.get("body") and exchange.first_body_at is None:
                    exchange.first_body_at = time.perf_counter()
                if not message.get("more_body", False):
                    exchange.complete = True
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except StreamAbortedError:
            # Returning without the body's last message makes the server close the connection
            # unterminated: the client sees a truncated stream as an error, never as complete.
            pass
        finally:
            request_id_var.reset(token)
            self._record(scope, request_id, exchange, started)

    def _record(self, scope: Scope, request_id: str, exchange: _Exchange, started: float) -> None:
        route = route_label(scope)
        elapsed = time.perf_counter() - started
        self.metrics.requests.labels(route=route, status=str(exchange.status)).inc()
        if scope.get(_SYNTHESIS_KEY):
            self._count_synthesis(scope, exchange.status)
        if route in _QUIET_ROUTES:
            return
        self.metrics.request_latency.labels(route=route).observe(elapsed)
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": scope.get("method"),
            "route": route,
            "status": exchange.status,
            "latency_ms": round(elapsed * 1000, 2),
        }
        if exchange.audio and exchange.first_body_at is not None:
            first_audio = exchange.first_body_at - started
            self.metrics.first_audio_latency.labels(route=route).observe(first_audio)
            fields["first_audio_ms"] = round(first_audio * 1000, 2)
        if not exchange.complete:
            fields["aborted"] = True  # the client went away before the last byte
        report = scope.get(_REPORT_KEY)
        if isinstance(report, SynthesisReport):
            fields.update(report.log_fields())
        log.info("request", extra=fields)

    def _count_synthesis(self, scope: Scope, status: int) -> None:
        """A refusal counts by its reason, any other answer as a synthesis request taken on."""
        if status in REFUSAL_STATUSES:
            reason = str(scope.get(_ERROR_CODE_KEY) or f"http_{status}")
            self.metrics.synthesis_rejected.labels(reason=reason).inc()
        else:
            self.metrics.synthesis_requests.inc()
