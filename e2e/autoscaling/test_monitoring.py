"""The monitoring the chart ships, checked against the pipeline's Prometheus under load past capacity.

A demo server with room for one request at a time (``--max-queue 1``) runs on the host, scraped
through a ``hostNetwork`` pod on a kwok node as in test_metrics_pipeline.py. A few paced client
threads offer more than it can serve, so it answers some requests and refuses the others with 429.
Meanwhile the pipeline's Prometheus, which loads the chart's plain rule file
(``charts/gpt-sovits/rules/gpt-sovits-alerts.yaml``), must fire the saturation alert for this
namespace, answer every panel query of the chart's Grafana dashboard with data, and report every
rule of the file loaded and evaluated without errors. The rules are the shipped ones, ``for``
included: nothing is shortened for the test.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.autoscaling.pipeline_support import DemoServer, Prometheus, demo_server_running
from e2e.cluster import Cluster
from e2e.cluster.cluster import duration_s
from e2e.cluster.metrics_pipeline import ALERT_RULES, CHART_DIR
from e2e.cluster.processes import wait_for
from e2e.load import LoadLoop, new_sentence

pytestmark = pytest.mark.cluster

DASHBOARD = CHART_DIR / "dashboards" / "gpt-sovits.json"
SATURATION_ALERT = "GptSovitsSaturated"
# Alerts that would mean the server itself is broken, not merely overloaded.
BROKEN_ALERTS = {"GptSovitsHigh5xxRatio", "GptSovitsPodNotReady"}
_POD = "voice-0"
_WAIT_S = 120.0
# The saturation alert's own `for` (1m) after its ratio first shows, and a margin for a busy host.
_FIRING_S = 150.0
# Each client starts a request at most this often, and a refusal returns at once: three clients
# offer up to 10 requests a second, while one demo request at a time takes 0.3 s on an idle core
# (1-2 s on a busy host), so most requests are refused.
_CLIENTS = 3
_PACE_S = 0.3


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """A demo server that takes one synthesis request at a time and refuses more with 429."""
    with demo_server_running(tmp_path_factory.mktemp("small-server"), "--max-queue", "1") as server:
        yield server


@pytest.fixture(scope="module")
def scraped(cluster: Cluster, prometheus: Prometheus, module_namespace: str, small_server: DemoServer) -> str:
    """The name of a Running ``hostNetwork`` pod annotated with the server's port, scraped ``up``."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": _POD,
            "labels": {"app": "voice"},
            # What the operator puts on its server pods (operator/voice_operator/manifests/deployment.py).
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(small_server.port),
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": {
            "hostNetwork": True,
            "containers": [{"name": "server", "image": "registry.invalid/gpt-sovits-server:demo"}],
        },
    }
    cluster.kubectl("apply", "-n", module_namespace, "-f", "-", input=json.dumps(pod))

    def target_up() -> bool:
        for target in prometheus.api("targets", state="active")["activeTargets"]:
            labels = target["labels"]
            if labels.get("namespace") == module_namespace and labels.get("pod") == _POD:
                return bool(target["health"] == "up")
        return False

    wait_for(f"{_POD}'s target up", target_up, _WAIT_S)
    return _POD


@pytest.fixture(scope="module")
def overload(scraped: str, small_server: DemoServer) -> Iterator[LoadLoop]:
    """Load above the server's capacity for the rest of the module (new sentences: no cache hits)."""
    with LoadLoop(small_server.url, clients=_CLIENTS, text=new_sentence, interval_s=_PACE_S) as load:
        yield load


def _namespace_alerts(prometheus: Prometheus, namespace: str) -> dict[str, str]:
    """Active alerts of ``namespace``: name -> state (pending or firing)."""
    alerts = prometheus.api("alerts")["alerts"]
    return {a["labels"]["alertname"]: a["state"] for a in alerts if a["labels"].get("namespace") == namespace}


def _panel_queries(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(panel title, query) of every panel, rows' nested panels included."""
    for panel in panels:
        yield from _panel_queries(panel.get("panels", []))
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel["title"], target["expr"]


def _chart_rules() -> dict[str, dict[str, Any]]:
    """The rules of the chart's file by name (``alert`` or ``record``)."""
    groups = yaml.safe_load(ALERT_RULES.read_text())["groups"]
    return {rule.get("alert") or rule["record"]: rule for group in groups for rule in group["rules"]}


def test_the_saturation_alert_fires_while_load_exceeds_capacity(
    prometheus: Prometheus, module_namespace: str, overload: LoadLoop
) -> None:
    def firing() -> bool:
        return _namespace_alerts(prometheus, module_namespace).get(SATURATION_ALERT) == "firing"

    wait_for(f"{SATURATION_ALERT} firing for {module_namespace}", firing, _FIRING_S)
    fired = time.monotonic() - overload.started
    counts = overload.statuses()
    print(f"\n{SATURATION_ALERT} firing {fired:.0f}s after the load started; answers so far: {counts}")
    # The load did exceed capacity: some requests served, some refused for want of room.
    assert counts.get(200, 0) > 0, counts
    assert counts.get(429, 0) > 0, counts
    assert set(counts) <= {200, 429}, counts
    # Overloaded is all it is: no errors, and the pod stays ready.
    assert not BROKEN_ALERTS & set(_namespace_alerts(prometheus, module_namespace)), overload.statuses()
    # The alert says where, with the shipped labels and annotations.
    (alert,) = [
        a
        for a in prometheus.api("alerts")["alerts"]
        if a["labels"]["alertname"] == SATURATION_ALERT and a["labels"].get("namespace") == module_namespace
    ]
    assert alert["labels"]["severity"] == _chart_rules()[SATURATION_ALERT]["labels"]["severity"]
    assert module_namespace in alert["annotations"]["summary"]
    assert float(alert["value"]) > 0.05


def test_every_dashboard_panel_query_returns_data(
    prometheus: Prometheus, module_namespace: str, overload: LoadLoop
) -> None:
    # Every panel, none left out. GPU memory has data on CPU too: the server exports the gauge
    # from its first scrape and sets it on CUDA only, so here it reads 0 (docs/autoscaling.md).
    queries = list(_panel_queries(json.loads(DASHBOARD.read_text())["panels"]))
    assert len({title for title, _ in queries}) >= 6
    # The dashboard's one query variable, as Grafana substitutes a single selected namespace.
    substituted = [(title, expr.replace("$namespace", module_namespace)) for title, expr in queries]
    assert not [expr for _, expr in substituted if "$" in expr]

    def values(expr: str) -> list[float]:
        data = prometheus.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return [float(sample["value"][1]) for sample in data["result"]]

    def has_data(expr: str) -> bool:
        # A finite value for each: a rate over no samples or a quantile of nothing would be NaN.
        found = values(expr)
        return bool(found) and all(math.isfinite(v) for v in found)

    for title, expr in substituted:
        wait_for(f"data for the panel {title!r}: {expr}", functools.partial(has_data, expr), _WAIT_S)
        print(f"\n{title}: {values(expr)}", end="")


def test_every_rule_of_the_chart_loads_and_evaluates_without_errors(
    prometheus: Prometheus, overload: LoadLoop
) -> None:
    expected = _chart_rules()

    def loaded() -> dict[str, dict[str, Any]]:
        groups = prometheus.api("rules")["groups"]
        ours = [g for g in groups if Path(g["file"]).name == ALERT_RULES.name]
        return {rule["name"]: rule for group in ours for rule in group["rules"]}

    # Evaluated at least once since the load started, with its series present.
    wait_for(
        "every chart rule evaluated",
        lambda: set(loaded()) == set(expected) and all(r["health"] != "unknown" for r in loaded().values()),
        _WAIT_S,
    )
    rules = loaded()
    assert set(rules) == set(expected)
    for name, rule in rules.items():
        assert rule["health"] == "ok", (name, rule.get("lastError"))
        assert not rule.get("lastError"), (name, rule["lastError"])
        assert rule["query"], name
        assert rule["type"] == "alerting", name
        assert rule["duration"] == duration_s(expected[name]["for"]), name
    counts = overload.statuses()
    print(f"\nrules ok after {time.monotonic() - overload.started:.0f}s of load; answers: {counts}")
