"""How long ``Cluster.kubectl`` lets a call run: past the call's own ``--timeout``."""

from __future__ import annotations

import pytest

from e2e.cluster.cluster import KUBECTL_TIMEOUT_S, kubectl_timeout_s


def test_a_call_without_its_own_timeout_gets_the_default() -> None:
    assert kubectl_timeout_s(["get", "pods", "-o", "json"]) == KUBECTL_TIMEOUT_S


@pytest.mark.parametrize(
    ("value", "own_s"),
    [("120s", 120.0), ("2m", 120.0), ("1m30s", 90.0), ("1h", 3600.0), ("90.5s", 90.5)],
)
def test_a_call_bounding_itself_runs_past_its_own_timeout(value: str, own_s: float) -> None:
    # The failure this prevents: `delete --wait --timeout=120s` killed by a 60 s default.
    limit = kubectl_timeout_s(["delete", "vsvc", "busy", "--wait=true", f"--timeout={value}"])
    assert limit > own_s
    assert limit <= own_s + 60


def test_a_short_or_zero_own_timeout_keeps_at_least_the_default() -> None:
    assert kubectl_timeout_s(["wait", "--timeout=0s"]) > KUBECTL_TIMEOUT_S
    assert kubectl_timeout_s(["wait", "--timeout=0"]) > KUBECTL_TIMEOUT_S
    assert kubectl_timeout_s(["wait", "--timeout=500ms"]) > KUBECTL_TIMEOUT_S


@pytest.mark.parametrize("value", ["", "ten", "10", "10x", "s10"])
def test_a_malformed_timeout_is_refused_with_the_value(value: str) -> None:
    with pytest.raises(ValueError, match=f"--timeout={value}"):
        kubectl_timeout_s(["wait", f"--timeout={value}"])
