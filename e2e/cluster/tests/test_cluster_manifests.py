"""The objects the cluster creates: fake nodes, the metrics API registration, the kubeconfig."""

from __future__ import annotations

from pathlib import Path

from e2e.cluster.certs import Pki
from e2e.cluster.manifests import (
    GPU_RESOURCE,
    KWOK_ANNOTATION,
    default_nodes,
    kubeconfig,
    metrics_server_objects,
)


def test_two_one_gpu_nodes_and_one_cpu_node() -> None:
    nodes = default_nodes()
    gpus = [n["status"]["allocatable"].get(GPU_RESOURCE) for n in nodes]
    assert sorted(gpus, key=str) == ["1", "1", None]
    for node in nodes:
        assert node["metadata"]["annotations"][KWOK_ANNOTATION] == "fake"
        assert node["status"]["capacity"] == node["status"]["allocatable"]
        name = node["metadata"]["name"]
        path = node["metadata"]["annotations"]["metrics.k8s.io/resource-metrics-path"]
        assert path == f"/metrics/nodes/{name}/metrics/resource"


def test_metrics_api_points_at_the_host_port() -> None:
    service, api_service = metrics_server_objects(12345)
    assert service["spec"]["type"] == "ExternalName"
    assert api_service["metadata"]["name"] == "v1beta1.metrics.k8s.io"
    assert api_service["spec"]["service"]["port"] == 12345
    assert api_service["spec"]["service"]["name"] == service["metadata"]["name"]


def test_kubeconfig_uses_absolute_certificate_paths(tmp_path: Path) -> None:
    config = kubeconfig("https://127.0.0.1:6443", Pki(tmp_path))
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    for path in (cluster["certificate-authority"], user["client-certificate"], user["client-key"]):
        assert Path(path).is_absolute()
    assert config["current-context"] == config["contexts"][0]["name"]
