"""Running the app under uvicorn with a Kubernetes-friendly shutdown.

On the first SIGTERM (or Ctrl-C) the server does not close its socket at once: it turns not-ready
(``/ready`` answers 503, so the Service stops routing here), answers new synthesis requests with
503 and Retry-After, keeps serving what it accepted, and only then exits. It waits at least
``drain_delay_s`` (endpoint removal takes a moment to reach every proxy) and at most
``graceful_shutdown_s`` for in-flight requests. A second signal exits at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)

_POLL_S = 0.05


class DrainingServer(uvicorn.Server):
    """``uvicorn.Server`` whose first exit signal starts a drain instead of an immediate stop."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        start_drain: Callable[[], None],
        in_flight: Callable[[], int],
        drain_delay_s: float,
        drain_timeout_s: float,
    ) -> None:
        super().__init__(config)
        self._start_drain = start_drain
        self._in_flight = in_flight
        self._drain_delay_s = drain_delay_s
        self._drain_timeout_s = drain_timeout_s
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining:
            super().handle_exit(sig, frame)  # second signal: stop now
            return
        self._draining = True
        self._start_drain()
        log.info("draining", extra={"signal": sig, "in_flight": self._in_flight()})
        threading.Thread(target=self._exit_when_drained, name="drain", daemon=True).start()

    def request_exit(self) -> None:
        """Drain and exit as on SIGTERM (api_v2's ``/control?command=exit``); safe on the loop."""
        self.handle_exit(signal.SIGTERM, None)

    def _exit_when_drained(self) -> None:
        started = time.monotonic()
        deadline = started + max(self._drain_timeout_s, self._drain_delay_s)
        while time.monotonic() < deadline:
            settled = time.monotonic() - started >= self._drain_delay_s
            if settled and self._in_flight() == 0:
                break
            time.sleep(_POLL_S)
        else:
            log.warning(
                "drain timeout: stopping with requests in flight", extra={"in_flight": self._in_flight()}
            )
        log.info("drained", extra={"seconds": round(time.monotonic() - started, 2)})
        self.should_exit = True
