"""The only module with kopf handlers; each body delegates to pure functions."""

from __future__ import annotations

from typing import Any

import kopf

from voice_operator.settings import OperatorSettings


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Apply our settings to kopf's: watch timeouts, backoff, posting of events."""
    ours: OperatorSettings = memo.settings
    settings.watching.server_timeout = ours.watch_server_timeout_s
    settings.watching.client_timeout = ours.watch_client_timeout_s
    # A stalled TCP connection otherwise hangs a watch forever while liveness stays green.
    settings.watching.connect_timeout = 30
    settings.batching.error_delays = _bounded_backoff(ours.backoff_max_s)
    settings.posting.level = 20  # INFO and above become Kubernetes Events
    settings.persistence.finalizer = "voice.gpt-sovits.io/finalizer"


def _bounded_backoff(ceiling_s: float) -> list[float]:
    """Doubling delays from 1 s, capped at ``ceiling_s``: no retry storm, no endless sleep."""
    delays: list[float] = []
    delay = 1.0
    while delay < ceiling_s:
        delays.append(delay)
        delay *= 2
    delays.append(ceiling_s)
    return delays
