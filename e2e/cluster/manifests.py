"""The Kubernetes objects and files the local cluster writes: kubeconfig, fake nodes, metrics API.

Pure functions returning plain dicts; the control plane serialises and applies them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from e2e.cluster.certs import Pki

CLUSTER_NAME = "gsv-e2e"
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
GPU_RESOURCE = "nvidia.com/gpu"
# metrics-server reads pod usage from this kubelet-style path that kwok serves per node.
METRICS_PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path"
METRICS_SERVER_NAMESPACE = "kube-system"
METRICS_SERVER_NAME = "metrics-server"

Manifest = dict[str, Any]


def kubeconfig(server: str, pki: Pki) -> Manifest:
    """An admin kubeconfig with absolute paths to the CA and client certificate."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": CLUSTER_NAME, "cluster": {"server": server, "certificate-authority": str(pki.crt("ca"))}}
        ],
        "users": [
            {
                "name": "admin",
                "user": {"client-certificate": str(pki.crt("admin")), "client-key": str(pki.key("admin"))},
            }
        ],
        "contexts": [{"name": CLUSTER_NAME, "context": {"cluster": CLUSTER_NAME, "user": "admin"}}],
        "current-context": CLUSTER_NAME,
    }


def fake_node(name: str, *, gpus: int, cpu: str = "8", memory: str = "32Gi", pods: str = "110") -> Manifest:
    """A Node that kwok manages: Ready via leases, pods on it marked Running, usage served."""
    resources = {"cpu": cpu, "memory": memory, "pods": pods}
    labels = {
        "type": "kwok",
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "node.kubernetes.io/instance-type": "gpu" if gpus else "cpu",
    }
    if gpus:
        resources[GPU_RESOURCE] = str(gpus)
        labels["nvidia.com/gpu.present"] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                KWOK_ANNOTATION: "fake",
                METRICS_PATH_ANNOTATION: f"/metrics/nodes/{name}/metrics/resource",
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        # Capacity is set at creation, like a kubelet does; kwok's stages keep it and add Ready.
        "status": {"capacity": dict(resources), "allocatable": dict(resources)},
    }


def default_nodes() -> list[Manifest]:
    """Two GPU nodes with one nvidia.com/gpu each and one CPU-only node."""
    return [fake_node("kwok-gpu-0", gpus=1), fake_node("kwok-gpu-1", gpus=1), fake_node("kwok-cpu-0", gpus=0)]


def metrics_server_objects(port: int) -> list[Manifest]:
    """Register a metrics-server running on the host as the ``metrics.k8s.io`` aggregated API.

    There is no kube-proxy, so the Service is an ExternalName pointing at loopback; the
    aggregator then dials 127.0.0.1 on the APIService's port. TLS verification is skipped
    because the service name the aggregator checks cannot match a loopback listener's identity
    in every client; this cluster never leaves the machine.
    """
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": METRICS_SERVER_NAME, "namespace": METRICS_SERVER_NAMESPACE},
        "spec": {
            "type": "ExternalName",
            "externalName": "127.0.0.1",
            "ports": [{"name": "https", "port": port}],
        },
    }
    api_service = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "spec": {
            "group": "metrics.k8s.io",
            "version": "v1beta1",
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
            "insecureSkipTLSVerify": True,
            "service": {"name": METRICS_SERVER_NAME, "namespace": METRICS_SERVER_NAMESPACE, "port": port},
        },
    }
    return [service, api_service]


def state_path(root: Path) -> Path:
    """The JSON file recording a running cluster's ports and pids."""
    return root / "state.json"
