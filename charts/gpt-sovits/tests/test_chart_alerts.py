"""The chart's alert rules: one plain rule file, and the PrometheusRule that carries the same groups.

That the rules load and evaluate in a real Prometheus is e2e/autoscaling/test_monitoring.py's part.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from chart_helpers import CHART, Render, find

from voice_server.errors import refusal_codes
from voice_server.metrics import ServerMetrics

RULE_FILE = CHART / "rules" / "gpt-sovits-alerts.yaml"
ALERTS = {"GptSovitsLatencyP99High", "GptSovitsHigh5xxRatio", "GptSovitsSaturated", "GptSovitsPodNotReady"}
# Prometheus' own series: the scrape health of every target.
PROMETHEUS_SERIES = {"up"}


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULE_FILE.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _exported_series() -> set[str]:
    """Every series name the server exports, histogram parts and counter suffixes included."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {
        metric.name + suffix
        for metric in ServerMetrics().registry.collect()
        for suffix in suffixes[metric.type]
    }


def test_no_prometheus_rule_by_default(render: Render) -> None:
    assert not find(render(), "PrometheusRule")


def test_the_prometheus_rule_carries_the_plain_files_groups(render: Render) -> None:
    manifests = render(set_values=["prometheusRule.enabled=true", "prometheusRule.labels.release=prom"])
    (rule,) = find(manifests, "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["name"] == "gsv-gpt-sovits-alerts"
    assert rule["metadata"]["namespace"] == "voice-system"
    assert rule["metadata"]["labels"]["release"] == "prom"
    assert rule["spec"] == yaml.safe_load(RULE_FILE.read_text())
    # Prometheus' templates reach it untouched: Helm does not template .Files.Get.
    summaries = [r["annotations"]["summary"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert all("{{ $labels." in summary for summary in summaries)


def test_every_alert_waits_has_a_severity_and_says_what_and_where() -> None:
    rules = _rules()
    assert {rule["alert"] for rule in rules} == ALERTS
    for rule in rules:
        assert re.fullmatch(r"[0-9]+m", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert "$labels.namespace" in rule["annotations"]["description"], rule["alert"]
        # Per namespace (and pod), never one sum over every tenant of the cluster.
        assert "by (namespace" in rule["expr"], rule["alert"]


def test_the_rules_use_only_series_the_server_exports_and_up() -> None:
    exported = _exported_series()
    for rule in _rules():
        names = set(re.findall(r"\bgsv_[a-z_]+", rule["expr"]))
        assert names, rule["alert"]
        assert names <= exported, (rule["alert"], names - exported)
    saturated = {rule["alert"]: rule["expr"] for rule in _rules()}["GptSovitsSaturated"]
    (reason,) = re.findall(r'reason="([a-z_]+)"', saturated)
    assert reason in refusal_codes()
    not_ready = {rule["alert"]: rule["expr"] for rule in _rules()}["GptSovitsPodNotReady"]
    assert set(re.findall(r"\((up)\)", not_ready)) == PROMETHEUS_SERIES
