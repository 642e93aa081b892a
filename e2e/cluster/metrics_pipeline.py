"""The opt-in metrics pipeline of the local cluster: Prometheus and prometheus-adapter.

Both are built from Go modules (``versions.PIPELINE_COMPONENTS``). Prometheus discovers pods
through the local apiserver (``kubernetes_sd_configs`` role ``pod``) with a client certificate of
the cluster CA, and scrapes those whose ``prometheus.io/scrape|port|path`` annotations ask for it,
as the operator's server pods do. Every stored series carries ``namespace`` and ``pod`` labels.
prometheus-adapter serves ``custom.metrics.k8s.io`` with the rules the Helm chart renders, and is
registered through the aggregation layer the way metrics-server is. Prometheus evaluates the
chart's alert rules, the plain rule file users load with ``rule_files``.

Only addresses that exist on this machine are scraped: kwok gives its pods made-up addresses from
the pod range, so a pod is a target only when its IP is on loopback (a ``hostNetwork`` pod on a
kwok node, whose node address is 127.0.0.1) or in the real node's subnet. A real cluster's
configuration needs no such filter (docs/autoscaling.md shows one without it).

Pure functions returning plain data; the control plane writes, starts and registers them.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from e2e.cluster import manifests
from e2e.cluster.certs import LOOPBACK_SANS, Pki
from e2e.cluster.versions import KUBERNETES_VERSION

Manifest = dict[str, Any]

CHART_DIR = Path(__file__).resolve().parents[2] / "charts" / "gpt-sovits"
ADAPTER_RULES_TEMPLATE = "templates/prometheus-adapter-configmap.yaml"
ADAPTER_RULES_KEY = "config.yaml"
# The chart's alerts as a plain rule file; templates/prometheusrule.yaml wraps the same file.
ALERT_RULES = CHART_DIR / "rules" / "gpt-sovits-alerts.yaml"
ADAPTER_NAME = "prometheus-adapter"
ADAPTER_NAMESPACE = manifests.METRICS_SERVER_NAMESPACE
CUSTOM_METRICS_GROUP = "custom.metrics.k8s.io"
# v1beta2 is what the HPA controller asks for; v1beta1 is still what many tools and docs query.
CUSTOM_METRICS_VERSIONS = ("v1beta2", "v1beta1")
ADAPTER_SANS = (*LOOPBACK_SANS, f"DNS:{ADAPTER_NAME}.{ADAPTER_NAMESPACE}.svc")
# Prometheus logs in to the apiserver as this user (a client certificate of the cluster CA) and
# may only read what service discovery needs.
PROMETHEUS_CERT = "prometheus"
PROMETHEUS_USER = "gsv-e2e:prometheus"
POD_JOB = "kubernetes-pods"
# Short periods, so a test sees a rate within seconds: two scrapes make a rate, and the adapter
# finds a new series at its next relist.
SCRAPE_INTERVAL = "2s"
ADAPTER_RELIST_INTERVAL = "5s"
ADAPTER_MAX_AGE = "1m"
# The adapter's rate() window (the chart's prometheusAdapter.rateWindow, 1m by default): ten scrapes
# here, so a load's rate shows, and a stopped load's fades, in seconds rather than a minute.
ADAPTER_RATE_WINDOW = "20s"
_LOOPBACK_IP = r"127\.[0-9]+\.[0-9]+\.[0-9]+"


class MetricsPipelineError(RuntimeError):
    """The chart's adapter rules could not be rendered, or a cluster runs no pipeline."""


def prometheus_version(binary: Path) -> str:
    """First line of ``prometheus --version``."""
    result = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if text else ""


def subnet_regex(subnet: str) -> str:
    """A regex matching the addresses of a ``a.b.c.0/24`` subnet."""
    prefix = subnet.split("/", 1)[0].rsplit(".", 1)[0]
    return prefix.replace(".", r"\.") + r"\.[0-9]+"


def pod_relabel_configs(local_ips: str) -> list[dict[str, Any]]:
    """Relabelling of the pod role: honour the prometheus.io annotations, add namespace and pod.

    ``local_ips`` is a regex of the pod IPs that may be scraped (see the module's docstring).
    """
    return [
        # Only pods that ask to be scraped, and that run (a pending pod has no address yet).
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
            "regex": "true",
            "action": "keep",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_phase"],
            "regex": "Pending|Succeeded|Failed|Unknown",
            "action": "drop",
        },
        {"source_labels": ["__meta_kubernetes_pod_ip"], "regex": local_ips, "action": "keep"},
        # prometheus.io/path replaces /metrics, prometheus.io/port the declared container port.
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
            "regex": "(.+)",
            "target_label": "__metrics_path__",
        },
        {
            "source_labels": [
                "__meta_kubernetes_pod_ip",
                "__meta_kubernetes_pod_annotation_prometheus_io_port",
            ],
            "regex": "([^;]+);([0-9]+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
        },
        # The labels prometheus-adapter maps to Kubernetes objects: namespace and pod.
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_pod_node_name"], "target_label": "node"},
        {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
    ]


def prometheus_config(
    api_server: str, pki: Pki, *, node_subnet: str, rule_files: Sequence[Path] = ()
) -> Manifest:
    """prometheus.yml: one job that finds pods through the apiserver and scrapes annotated ones.

    ``rule_files`` are evaluated every scrape interval, so an alert's ``for`` is what delays it.
    """
    tls = {
        "ca_file": str(pki.crt("ca")),
        "cert_file": str(pki.crt(PROMETHEUS_CERT)),
        "key_file": str(pki.key(PROMETHEUS_CERT)),
    }
    local_ips = f"{_LOOPBACK_IP}|{subnet_regex(node_subnet)}"
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": POD_JOB,
                "scrape_timeout": SCRAPE_INTERVAL,
                "kubernetes_sd_configs": [{"role": "pod", "api_server": api_server, "tls_config": tls}],
                "relabel_configs": pod_relabel_configs(local_ips),
            }
        ],
    }


def prometheus_rbac() -> list[Manifest]:
    """What Prometheus' service discovery may read, bound to its certificate's user."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": PROMETHEUS_USER},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["pods", "services", "endpoints", "nodes"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["discovery.k8s.io"],
                "resources": ["endpointslices"],
                "verbs": ["get", "list", "watch"],
            },
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": PROMETHEUS_USER},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": PROMETHEUS_USER},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": PROMETHEUS_USER}],
    }
    return [role, binding]


def prometheus_argv(binary: Path, config: Path, data_dir: Path, port: int) -> list[str]:
    """Prometheus on loopback with its data in the cluster's state folder."""
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=2h",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=info",
    ]


def render_adapter_rules(helm: Path, chart: Path = CHART_DIR) -> str:
    """The adapter configuration as the chart renders it (``prometheusAdapter.enabled``), with the
    test cluster's short rate window."""
    cmd = [
        str(helm), "template", "gsv", str(chart),
        "--kube-version", KUBERNETES_VERSION,
        "--set", "prometheusAdapter.enabled=true",
        "--set", f"prometheusAdapter.rateWindow={ADAPTER_RATE_WINDOW}",
        "--show-only", ADAPTER_RULES_TEMPLATE,
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        raise MetricsPipelineError(f"helm template of {chart} failed: {result.stderr.strip()}")
    for document in yaml.safe_load_all(result.stdout):
        if isinstance(document, dict) and document.get("kind") == "ConfigMap":
            rules = document.get("data", {}).get(ADAPTER_RULES_KEY)
            if isinstance(rules, str) and rules.strip():
                return rules
    raise MetricsPipelineError(f"{ADAPTER_RULES_TEMPLATE} rendered no ConfigMap with {ADAPTER_RULES_KEY}")


def alert_rules(path: Path = ALERT_RULES) -> str:
    """The text of the chart's alert rule file, checked to hold rule groups.

    Prometheus would refuse to start on a broken file too, but with an error in its log only.
    """
    try:
        text = path.read_text()
        groups = yaml.safe_load(text).get("groups")
    except (OSError, yaml.YAMLError, AttributeError) as err:
        raise MetricsPipelineError(f"the chart's alert rules {path} cannot be read: {err}") from err
    if not isinstance(groups, list) or not groups:
        raise MetricsPipelineError(f"the chart's alert rules {path} hold no rule groups")
    return text


def adapter_argv(
    binary: Path, *, kubeconfig: Path, pki: Pki, port: int, prometheus_port: int, rules: Path
) -> list[str]:
    """prometheus-adapter on loopback, serving with a certificate of the cluster CA."""
    kc = str(kubeconfig)
    return [
        str(binary),
        f"--lister-kubeconfig={kc}",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--tls-cert-file={pki.crt(ADAPTER_NAME)}",
        f"--tls-private-key-file={pki.key(ADAPTER_NAME)}",
        f"--prometheus-url=http://127.0.0.1:{prometheus_port}/",
        f"--config={rules}",
        f"--metrics-relist-interval={ADAPTER_RELIST_INTERVAL}",
        f"--metrics-max-age={ADAPTER_MAX_AGE}",
        "--v=2",
    ]


def adapter_objects(port: int, ca_file: Path) -> list[Manifest]:
    """Register the adapter on the host as ``custom.metrics.k8s.io`` (both served versions).

    As for metrics-server, an ExternalName Service sends the aggregator to 127.0.0.1 on the
    APIService's port. Unlike it, the aggregator verifies the adapter's certificate: it is signed
    by the cluster CA (the ``caBundle``) for the name the aggregator checks, ``<service>.<ns>.svc``.
    """
    ca_bundle = base64.b64encode(ca_file.read_bytes()).decode()
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": ADAPTER_NAME, "namespace": ADAPTER_NAMESPACE},
        "spec": {
            "type": "ExternalName",
            "externalName": "127.0.0.1",
            "ports": [{"name": "https", "port": port}],
        },
    }
    api_services = [
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": api_service_name(version)},
            "spec": {
                "group": CUSTOM_METRICS_GROUP,
                "version": version,
                "groupPriorityMinimum": 100,
                "versionPriority": 200 - 100 * index,
                "caBundle": ca_bundle,
                "service": {"name": ADAPTER_NAME, "namespace": ADAPTER_NAMESPACE, "port": port},
            },
        }
        for index, version in enumerate(CUSTOM_METRICS_VERSIONS)
    ]
    return [service, *api_services]


def api_service_name(version: str) -> str:
    """``v1beta2.custom.metrics.k8s.io``."""
    return f"{version}.{CUSTOM_METRICS_GROUP}"


def prometheus_url(cluster_dir: Path) -> str:
    """Base URL of a running cluster's Prometheus, from its state.json."""
    try:
        state = json.loads(manifests.state_path(cluster_dir).read_text())
    except (OSError, ValueError) as err:
        raise MetricsPipelineError(f"no cluster state in {cluster_dir}: {err}") from err
    for component in state.get("components", []):
        if component.get("name") == "prometheus" and component.get("ports"):
            return f"http://127.0.0.1:{component['ports'][0]}"
    raise MetricsPipelineError(f"the cluster in {cluster_dir} runs no Prometheus (--metrics-pipeline)")
