"""Assertions on the rendered templates, one scenario per case (helm-unittest style)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import CHART, KUBE_VERSION, Render, find, run_helm

CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_helm_lint_passes_for_every_scenario(helm: str, values: Path) -> None:
    result = run_helm(helm, "lint", "--strict", str(CHART), "-f", str(values), "--kube-version", KUBE_VERSION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_defaults_render_operator_rbac_and_nothing_optional(render: Render) -> None:
    manifests = render()
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"]


def test_every_object_carries_the_standard_labels(render: Render) -> None:
    for manifest in render(CHART / "ci" / "full-values.yaml"):
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "gsv", manifest["kind"]
        assert labels["app.kubernetes.io/name"] == "gpt-sovits"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "gpt-sovits-0.1.0"


def test_operator_deployment_is_locked_down_and_probed(render: Render) -> None:
    (deployment,) = find(render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["image"] == "gpt-sovits-k8s/operator:0.1.0"
    assert container["resources"]["limits"]["memory"] == "256Mi"


def test_operator_settings_become_environment_variables(render: Render) -> None:
    (deployment,) = find(render(set_values=["operator.defaultServerImage=reg.example/tts:2"]), "Deployment")
    env = _env(deployment)
    assert env["VOICE_OPERATOR_NAMESPACES"] == "[]"
    assert env["VOICE_OPERATOR_DEFAULT_IMAGE"] == "reg.example/tts:2"
    assert env["VOICE_OPERATOR_STANDALONE"] == "true"
    assert int(env["VOICE_OPERATOR_WATCH_CLIENT_TIMEOUT_S"]) > int(
        env["VOICE_OPERATOR_WATCH_SERVER_TIMEOUT_S"]
    )


def test_cluster_wide_mode_grants_namespaced_rules_in_the_cluster_role(render: Render) -> None:
    (role,) = find(render(), "ClusterRole")
    groups = {group for rule in role["rules"] for group in rule["apiGroups"]}
    assert {"voice.gpt-sovits.io", "apps", "autoscaling", "policy"} <= groups
    assert not find(render(), "Role")


def test_watched_namespaces_get_roles_and_the_cluster_role_shrinks(render: Render) -> None:
    manifests = render(CHART / "ci" / "namespaced-values.yaml")
    roles = find(manifests, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["staging", "voice"]
    assert len(find(manifests, "RoleBinding")) == 2
    (cluster_role,) = find(manifests, "ClusterRole")
    groups = {group for rule in cluster_role["rules"] for group in rule["apiGroups"]}
    assert "apps" not in groups
    (deployment,) = find(manifests, "Deployment")
    assert json.loads(_env(deployment)["VOICE_OPERATOR_NAMESPACES"]) == ["voice", "staging"]


@pytest.mark.parametrize(
    "values", [None, CHART / "ci" / "namespaced-values.yaml"], ids=["cluster", "namespaced"]
)
def test_rbac_grants_no_wildcards_and_nothing_on_secrets(render: Render, values: Path | None) -> None:
    manifests = render(values)
    roles = find(manifests, "ClusterRole") + find(manifests, "Role")
    assert roles
    for role in roles:
        for rule in role["rules"]:
            assert "*" not in rule["verbs"]
            assert "*" not in rule["resources"]
            # A missing Secret is reported from the pods and their mount events instead.
            assert "secrets" not in rule["resources"], role["metadata"]
    namespaced = find(manifests, "Role") or find(manifests, "ClusterRole")
    reads = {
        (resource, verb)
        for rule in namespaced[0]["rules"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert {("pods", "list"), ("events", "list"), ("persistentvolumeclaims", "get")} <= reads
    # The server pods' NetworkPolicy is a child the operator applies and deletes.
    assert {("networkpolicies", "patch"), ("networkpolicies", "delete")} <= reads


def test_full_scenario_renders_each_optional_object(render: Render) -> None:
    manifests = render(CHART / "ci" / "full-values.yaml")
    optional = ("ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ClusterKopfPeering", "VoiceService")
    for kind in (*optional, "Pod"):
        assert find(manifests, kind), kind
    (deployment,) = find(manifests, "Deployment")
    assert _env(deployment)["VOICE_OPERATOR_STANDALONE"] == "false"
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "gpt-sovits-k8s/operator:0.1.0@sha256:" + "0" * 64
    (voice,) = find(manifests, "VoiceService")
    assert voice["spec"]["autoscaling"]["maxReplicas"] == 4
    assert voice["metadata"]["namespace"] == "voice-system"


def test_adapter_rule_serves_synthesis_and_refused_requests_per_second(render: Render) -> None:
    manifests = render(CHART / "ci" / "full-values.yaml", set_values=["prometheusAdapter.rateWindow=2m"])
    (rules,) = [m for m in find(manifests, "ConfigMap") if m["metadata"]["name"].endswith("adapter-rules")]
    (rule,) = yaml.safe_load(rules["data"]["config.yaml"])["rules"]
    # Discovered from the synthesis counter only: probes, scrapes and admin calls are not in it.
    assert rule["seriesQuery"] == 'gsv_synthesis_requests_total{namespace!="",pod!=""}'
    assert rule["resources"]["overrides"] == {
        "namespace": {"resource": "namespace"},
        "pod": {"resource": "pod"},
    }
    assert rule["name"] == {"matches": "^gsv_synthesis_requests_total$", "as": "gsv_requests_per_second"}
    # Taken-on plus refused (429/503) synthesis requests, each pod's rate over the window.
    taken, refused = (term.strip() for term in rule["metricsQuery"].split(" + "))
    assert taken == "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"
    assert refused == "sum(rate(gsv_synthesis_rejected_total{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"


def test_dashboard_is_valid_json_with_the_promised_panels(render: Render) -> None:
    manifests = render(CHART / "ci" / "full-values.yaml")
    (dashboard,) = [m for m in find(manifests, "ConfigMap") if m["metadata"]["name"].endswith("dashboard")]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    panels = json.loads(dashboard["data"]["gpt-sovits.json"])["panels"]
    titles = " ".join(p["title"] for p in panels)
    for needle in ("Requests per second", "P99", "Batch size", "Queue depth", "GPU memory", "Cache hit"):
        assert needle in titles


def test_helm_test_hook_calls_the_voice_service_ready_path(render: Render) -> None:
    (pod,) = find(render(CHART / "ci" / "full-values.yaml"), "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["containers"][0]["command"][-1] == "http://narrator.voice-system.svc:8000/ready"


def test_metrics_port_zero_drops_the_service_and_scrape_annotations(render: Render) -> None:
    manifests = render(set_values=["operator.metricsPort=0"])
    assert not find(manifests, "Service")
    (deployment,) = find(manifests, "Deployment")
    assert "prometheus.io/scrape" not in (deployment["spec"]["template"]["metadata"]["annotations"] or {})
