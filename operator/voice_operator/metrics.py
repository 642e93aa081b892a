"""The operator's own Prometheus metrics: reconciles, errors and their duration."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

REGISTRY = CollectorRegistry()

RECONCILES = Counter(
    "voice_operator_reconciles",
    "Reconciles of VoiceServices by trigger and result (ok, degraded, error).",
    ["trigger", "result"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "voice_operator_errors",
    "Reconciles that raised, by trigger and error type.",
    ["trigger", "error"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "voice_operator_reconcile_duration_seconds",
    "Wall time of one reconcile.",
    ["trigger"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)


class ReconcileRecord:
    """Lets the body of :func:`observe` say how the reconcile ended."""

    def __init__(self) -> None:
        self.result = "ok"


@contextmanager
def observe(trigger: str) -> Iterator[ReconcileRecord]:
    """Count and time one reconcile; an exception counts as an error and is re-raised."""
    record = ReconcileRecord()
    started = time.perf_counter()
    try:
        yield record
    except Exception as err:
        ERRORS.labels(trigger=trigger, error=type(err).__name__).inc()
        record.result = "error"
        raise
    finally:
        DURATION.labels(trigger=trigger).observe(time.perf_counter() - started)
        RECONCILES.labels(trigger=trigger, result=record.result).inc()


def serve(port: int) -> None:
    """Serve /metrics on ``port`` in a background thread; 0 turns it off."""
    if port:
        start_http_server(port, registry=REGISTRY)
