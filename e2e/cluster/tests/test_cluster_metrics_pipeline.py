"""The metrics pipeline's pieces that need no running cluster: its configuration and its build pins.

The pipeline running for real (Prometheus scraping a pod found through the apiserver, the adapter
serving custom.metrics.k8s.io) is tested in e2e/autoscaling (opt-in: GSV_E2E_METRICS_PIPELINE=1).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.cluster import metrics_pipeline as mp
from e2e.cluster.build import PIPELINE_DIR, ensure_built, pipeline_cache_key, pipeline_toolset_for
from e2e.cluster.certs import Pki, ensure_client_cert, ensure_pki, ensure_serving_cert
from e2e.cluster.settings import ClusterSettings
from e2e.cluster.versions import (
    BINARIES,
    PIPELINE_COMPONENTS,
    PROMETHEUS_ADAPTER_VERSION,
    PROMETHEUS_VERSION,
    prometheus_release,
)


def _pod_job(tmp_path: Path) -> dict[str, Any]:
    config = mp.prometheus_config("https://127.0.0.1:6443", Pki(tmp_path), node_subnet="10.123.0.0/24")
    (job,) = config["scrape_configs"]
    return dict(job)


def test_prometheus_finds_pods_through_the_apiserver_with_a_client_certificate(tmp_path: Path) -> None:
    job = _pod_job(tmp_path)
    (sd,) = job["kubernetes_sd_configs"]
    assert sd["role"] == "pod"
    assert sd["api_server"] == "https://127.0.0.1:6443"
    assert sd["tls_config"] == {
        "ca_file": str(tmp_path / "ca.crt"),
        "cert_file": str(tmp_path / "prometheus.crt"),
        "key_file": str(tmp_path / "prometheus.key"),
    }


def test_the_scrape_annotations_decide_target_path_and_port(tmp_path: Path) -> None:
    rules = _pod_job(tmp_path)["relabel_configs"]
    by_source = {tuple(r.get("source_labels", ())): r for r in rules}
    scrape = by_source[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)]
    assert (scrape["action"], scrape["regex"]) == ("keep", "true")
    path = by_source[("__meta_kubernetes_pod_annotation_prometheus_io_path",)]
    assert path["target_label"] == "__metrics_path__"
    address = by_source[("__meta_kubernetes_pod_ip", "__meta_kubernetes_pod_annotation_prometheus_io_port")]
    assert (address["target_label"], address["replacement"]) == ("__address__", "$1:$2")
    # The labels the chart's adapter rule maps to namespaces and pods.
    assert by_source[("__meta_kubernetes_namespace",)]["target_label"] == "namespace"
    assert by_source[("__meta_kubernetes_pod_name",)]["target_label"] == "pod"


def test_only_addresses_on_this_machine_are_scraped(tmp_path: Path) -> None:
    rules = _pod_job(tmp_path)["relabel_configs"]
    (keep_ip,) = [r for r in rules if r.get("source_labels") == ["__meta_kubernetes_pod_ip"]]
    assert keep_ip["action"] == "keep"
    # Prometheus anchors relabel regexes at both ends.
    allowed = re.compile(f"^(?:{keep_ip['regex']})$")
    for address in ("127.0.0.1", "127.0.0.2", "10.123.0.7"):
        assert allowed.match(address), address
    # kwok's made-up pod addresses and anything else are never dialled.
    for address in ("10.244.0.5", "10.123.1.7", "192.168.1.10", "8.8.8.8"):
        assert not allowed.match(address), address


def test_prometheus_evaluates_the_rule_files_it_is_given(tmp_path: Path) -> None:
    rules = tmp_path / "alerts.yaml"
    config = mp.prometheus_config(
        "https://127.0.0.1:6443", Pki(tmp_path), node_subnet="10.123.0.0/24", rule_files=[rules]
    )
    assert config["rule_files"] == [str(rules)]
    # Rules are evaluated as often as pods are scraped: an alert's `for` is what delays it.
    intervals = config["global"]
    assert intervals["evaluation_interval"] == intervals["scrape_interval"] == mp.SCRAPE_INTERVAL
    bare = mp.prometheus_config("https://127.0.0.1:6443", Pki(tmp_path), node_subnet="10.123.0.0/24")
    assert bare["rule_files"] == []


def test_the_alert_rules_are_the_charts_plain_rule_file() -> None:
    text = mp.alert_rules()
    assert text == (mp.CHART_DIR / "rules" / "gpt-sovits-alerts.yaml").read_text()
    alerts = {rule["alert"] for group in yaml.safe_load(text)["groups"] for rule in group["rules"]}
    assert "GptSovitsSaturated" in alerts
    # The chart's PrometheusRule wraps this same file, so both load the same rules.
    template = (mp.CHART_DIR / "templates" / "prometheusrule.yaml").read_text()
    assert f'.Files.Get "{mp.ALERT_RULES.relative_to(mp.CHART_DIR)}"' in template


@pytest.mark.parametrize(
    ("text", "message"),
    [(None, "cannot be read"), ("groups: [\n", "cannot be read"), ("rules: []\n", "no rule groups")],
    ids=["missing", "not-yaml", "no-groups"],
)
def test_an_unusable_alert_rule_file_is_an_error(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "alerts.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(mp.MetricsPipelineError, match=message):
        mp.alert_rules(path)


def test_prometheus_may_only_read_what_discovery_needs() -> None:
    role, binding = mp.prometheus_rbac()
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": mp.PROMETHEUS_USER}
    ]


def test_the_adapter_is_registered_for_both_custom_metrics_versions(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    service, *api_services = mp.adapter_objects(23456, ca)
    assert service["spec"] == {
        "type": "ExternalName",
        "externalName": "127.0.0.1",
        "ports": [{"name": "https", "port": 23456}],
    }
    names = [a["metadata"]["name"] for a in api_services]
    assert names == ["v1beta2.custom.metrics.k8s.io", "v1beta1.custom.metrics.k8s.io"]
    for api_service in api_services:
        spec = api_service["spec"]
        assert spec["service"] == {"name": mp.ADAPTER_NAME, "namespace": mp.ADAPTER_NAMESPACE, "port": 23456}
        # The aggregator verifies the adapter's certificate against the cluster CA.
        assert base64.b64decode(spec["caBundle"]) == ca.read_bytes()
        assert "insecureSkipTLSVerify" not in spec
    assert api_services[0]["spec"]["versionPriority"] > api_services[1]["spec"]["versionPriority"]
    # The name the aggregator checks is in the adapter's certificate.
    assert f"DNS:{mp.ADAPTER_NAME}.{mp.ADAPTER_NAMESPACE}.svc" in mp.ADAPTER_SANS


def test_the_adapter_rules_are_the_charts_own() -> None:
    helm = ensure_built(ClusterSettings(metrics_pipeline=False)).binary("helm")
    rules = yaml.safe_load(mp.render_adapter_rules(helm))
    (rule,) = rules["rules"]
    assert rule["name"]["as"] == "gsv_requests_per_second"
    assert rule["seriesQuery"].startswith("gsv_synthesis_requests_total{")
    assert rule["resources"]["overrides"] == {
        "namespace": {"resource": "namespace"},
        "pod": {"resource": "pod"},
    }
    assert "gsv_synthesis_rejected_total" in rule["metricsQuery"]
    assert rule["metricsQuery"].count(f"[{mp.ADAPTER_RATE_WINDOW}]") == 2
    template = (mp.CHART_DIR / mp.ADAPTER_RULES_TEMPLATE).read_text()
    assert 'as: "gsv_requests_per_second"' in template


def test_a_chart_without_the_rules_is_an_error(tmp_path: Path) -> None:
    helm = ensure_built(ClusterSettings(metrics_pipeline=False)).binary("helm")
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: empty\nversion: 0.1.0\n")
    with pytest.raises(mp.MetricsPipelineError, match="helm template"):
        mp.render_adapter_rules(helm, chart)


def test_prometheus_url_comes_from_the_cluster_state(tmp_path: Path) -> None:
    with pytest.raises(mp.MetricsPipelineError, match="no cluster state"):
        mp.prometheus_url(tmp_path)
    state = {"components": [{"name": "etcd", "ports": [1, 2]}, {"name": "prometheus", "ports": [9999]}]}
    (tmp_path / "state.json").write_text(json.dumps(state))
    assert mp.prometheus_url(tmp_path) == "http://127.0.0.1:9999"
    (tmp_path / "state.json").write_text(json.dumps({"components": []}))
    with pytest.raises(mp.MetricsPipelineError, match="--metrics-pipeline"):
        mp.prometheus_url(tmp_path)


def test_the_pipeline_is_pinned_and_cached_apart_from_the_control_plane(tmp_path: Path) -> None:
    go_mod = (PIPELINE_DIR / "go.mod").read_text()
    assert f"sigs.k8s.io/prometheus-adapter {PROMETHEUS_ADAPTER_VERSION}\n" in go_mod
    by_name = {c.name: c for c in PIPELINE_COMPONENTS}
    assert set(by_name) == {"prometheus", "prometheus-adapter"}
    assert by_name["prometheus-adapter"].module == PIPELINE_DIR.name
    # Prometheus with Kubernetes service discovery only, stamped with its release.
    prometheus = by_name["prometheus"]
    assert (prometheus.version, prometheus.tags) == (
        PROMETHEUS_VERSION,
        ("remove_all_sd", "enable_kubernetes_sd"),
    )
    assert prometheus_release("v0.316.0") == "3.16.0"
    assert "-X github.com/prometheus/common/version.Version=3.16.0" in prometheus.ldflags
    assert not set(by_name) & set(BINARIES)
    assert pipeline_cache_key("go version go1.26.8") != pipeline_cache_key("go version go1.26.9")
    toolset = pipeline_toolset_for(ClusterSettings(cache_dir=tmp_path))
    assert toolset.root.parent == tmp_path
    assert toolset.root.name.startswith("metrics-pipeline-")


def test_the_adapter_and_prometheus_certificates_come_from_the_cluster_ca(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki")
    ensure_serving_cert(pki, mp.ADAPTER_NAME, f"/CN={mp.ADAPTER_NAME}", mp.ADAPTER_SANS)
    ensure_client_cert(pki, mp.PROMETHEUS_CERT, f"/CN={mp.PROMETHEUS_USER}")
    for name in (mp.ADAPTER_NAME, mp.PROMETHEUS_CERT):
        verify = subprocess.run(
            ["openssl", "verify", "-CAfile", str(pki.crt("ca")), str(pki.crt(name))],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stderr
    text = subprocess.run(
        ["openssl", "x509", "-in", str(pki.crt(mp.ADAPTER_NAME)), "-noout", "-text"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"DNS:{mp.ADAPTER_NAME}.{mp.ADAPTER_NAMESPACE}.svc" in text
    assert "TLS Web Server Authentication" in text
    subject = subprocess.run(
        ["openssl", "x509", "-in", str(pki.crt(mp.PROMETHEUS_CERT)), "-noout", "-subject"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert mp.PROMETHEUS_USER in subject
    # Made once: a second call keeps the certificate a running adapter serves.
    before = pki.crt(mp.ADAPTER_NAME).read_bytes()
    ensure_serving_cert(pki, mp.ADAPTER_NAME, f"/CN={mp.ADAPTER_NAME}", mp.ADAPTER_SANS)
    assert pki.crt(mp.ADAPTER_NAME).read_bytes() == before
