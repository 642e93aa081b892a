"""Operator metrics: reconciles counted by result, errors by type, durations observed."""

from __future__ import annotations

import pytest

from voice_operator import metrics


def value(name: str, labels: dict[str, str]) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_successful_and_degraded_reconciles_are_counted() -> None:
    ok_before = value("voice_operator_reconciles_total", {"trigger": "t-ok", "result": "ok"})
    with metrics.observe("t-ok"):
        pass
    with metrics.observe("t-ok") as record:
        record.result = "degraded"
    assert value("voice_operator_reconciles_total", {"trigger": "t-ok", "result": "ok"}) == ok_before + 1
    assert value("voice_operator_reconciles_total", {"trigger": "t-ok", "result": "degraded"}) >= 1
    assert value("voice_operator_reconcile_duration_seconds_count", {"trigger": "t-ok"}) >= 2


def test_errors_are_counted_and_reraised() -> None:
    with pytest.raises(RuntimeError), metrics.observe("t-err"):
        raise RuntimeError("boom")
    assert value("voice_operator_errors_total", {"trigger": "t-err", "error": "RuntimeError"}) == 1
    assert value("voice_operator_reconciles_total", {"trigger": "t-err", "result": "error"}) == 1


def test_metrics_endpoint_serves_the_registry(free_port: int) -> None:
    import urllib.request

    metrics.serve(free_port)
    with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=10) as response:
        body = response.read().decode()
    assert "voice_operator_reconciles_total" in body
