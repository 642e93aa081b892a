"""A bounded load generator for a voice's Service: a few client threads, each paced, every outcome kept.

Used by the rollout and autoscaling tests and by ``make demo DEMO_ARGS=--autoscale``. Every request
is a new HTTP connection, so kube-proxy picks a backend per request and load spreads over pods.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

# No loop sends more than this many requests in all, whatever its caller forgets to stop.
MAX_REQUESTS = 5_000


def post_tts(
    base_url: str,
    text: str,
    *,
    seed: int = 1,
    speaker_id: str = "demo",
    language: str = "en",
    timeout_s: float = 300,
) -> tuple[int, bytes, str]:
    """``POST /api/v1/tts``; (status, body, content type). HTTP errors are returned, not raised."""
    body = json.dumps({"text": text, "speaker_id": speaker_id, "language": language, "seed": seed}).encode()
    request = urllib.request.Request(
        f"{base_url}/api/v1/tts", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status), response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return int(err.code), err.read(), err.headers.get("Content-Type", "")


@dataclass(frozen=True)
class Outcome:
    """One request: when it ended (monotonic), its HTTP status (0: no answer) and an error's text."""

    at: float
    status: int
    detail: str


def same_sentence(client: int, sent: int) -> str:
    """One sentence for every request: after the first, each is a cache hit (cheap load)."""
    return "The same sentence every time."


def new_sentence(client: int, sent: int) -> str:
    """A new sentence each request: every one is synthesized (CPU-heavy load)."""
    return f"Request {sent} of client {client} asks for new speech."


class LoadLoop:
    """Sends TTS requests to one URL from ``clients`` threads until stopped.

    ``interval_s`` paces each client (a request starts at most that often), so a loop offers a known
    rate; ``check`` validates a 200 answer's body (an exception makes the outcome a failure).
    """

    def __init__(
        self,
        url: str,
        *,
        clients: int = 2,
        text: Callable[[int, int], str] = new_sentence,
        interval_s: float = 0.0,
        timeout_s: float = 120.0,
        check: Callable[[bytes], object] | None = None,
        max_requests: int = MAX_REQUESTS,
    ) -> None:
        self.url = url
        self.outcomes: list[Outcome] = []
        self._text = text
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._check = check
        self._max = max_requests
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)]
        self.started = time.monotonic()

    def _run(self, client: int) -> None:
        sent = 0
        while not self._stop.is_set() and len(self.outcomes) < self._max:
            sent += 1
            began = time.monotonic()
            try:
                status, body, _ = post_tts(self.url, self._text(client, sent), timeout_s=self._timeout_s)
                detail = "" if status == 200 else body[:200].decode("utf-8", "replace")
                if status == 200 and self._check is not None:
                    self._check(body)
            except Exception as err:  # a refused or reset connection is an outcome to report
                status, detail = 0, f"{type(err).__name__}: {err}"
            with self._lock:
                self.outcomes.append(Outcome(time.monotonic(), status, detail))
            self._stop.wait(max(0.0, self._interval_s - (time.monotonic() - began)))

    def failures(self) -> list[Outcome]:
        """Outcomes other than 200."""
        with self._lock:
            return [o for o in self.outcomes if o.status != 200]

    def statuses(self) -> dict[int, int]:
        """How many requests ended with each status (0: no answer)."""
        with self._lock:
            return dict(Counter(o.status for o in self.outcomes))

    def count(self, since: float = 0.0) -> int:
        """Requests that ended at or after ``since``."""
        with self._lock:
            return sum(1 for o in self.outcomes if o.at >= since)

    def start(self) -> LoadLoop:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Ask every client to stop and wait for its request in flight."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._timeout_s + 30)

    def __enter__(self) -> LoadLoop:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
