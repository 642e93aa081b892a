"""The real node's configuration files keep every path private and pods off other networks."""

from __future__ import annotations

import tomllib
from pathlib import Path

from e2e.cluster.node_config import (
    NODE_TAINT,
    NodeLayout,
    apiserver_endpoint_slice,
    cni_conflist,
    containerd_config,
    kube_proxy_config,
    kubelet_config,
)

SERVICE_CIDR = "10.0.0.0/24"


def _layout(tmp_path: Path) -> NodeLayout:
    return NodeLayout(tmp_path / "node", tmp_path / "store", "real-node-0", "10.123.0.0/24", "gsv-node0")


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_node_address_is_the_bridge_gateway(tmp_path: Path) -> None:
    assert _layout(tmp_path).node_ip == "10.123.0.1"


def test_containerd_keeps_every_path_in_the_node_folders(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    text = containerd_config(
        layout, runc=Path("/usr/sbin/runc"), cni_bin_dir=Path("/usr/lib/cni"), pause_ref="localhost/p:1"
    )
    config = tomllib.loads(text)
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == "localhost/p:1"
    assert config["root"] == str(layout.store / "root")
    assert config["grpc"]["address"] == str(layout.containerd_socket)
    paths = [s for s in _strings(config) if s.startswith("/")]
    allowed = (str(layout.root), str(layout.store), "/usr/sbin/runc", "/usr/lib/cni")
    assert paths
    assert all(p.startswith(allowed) for p in paths), paths


def test_pods_get_no_default_route_and_no_masquerade(tmp_path: Path) -> None:
    conflist = cni_conflist(_layout(tmp_path), SERVICE_CIDR)
    bridge = conflist["plugins"][0]
    assert bridge["ipMasq"] is False
    assert bridge["ipam"]["routes"] == [{"dst": SERVICE_CIDR}]
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.123.0.0/24", "gateway": "10.123.0.1"}]]
    assert bridge["ipam"]["dataDir"].startswith(str(tmp_path / "node"))


def test_kubelet_is_tainted_authenticated_and_private(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    config = kubelet_config(layout, ca_file=tmp_path / "ca.crt", healthz_port=1234)
    assert config["registerWithTaints"] == [NODE_TAINT]
    assert config["address"] == "10.123.0.1"
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authorization"]["mode"] == "Webhook"
    assert config["failCgroupV1"] is False
    assert config["healthzBindAddress"] == "127.0.0.1"
    for key in ("resolvConf", "podLogsDir", "volumePluginDir"):
        assert config[key].startswith(str(layout.root)), key


def test_kube_proxy_binds_loopback_and_touches_no_sysctl(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    config = kube_proxy_config(layout, kubeconfig=tmp_path / "kc", healthz_port=1, metrics_port=2)
    assert config["mode"] == "iptables"
    assert config["healthzBindAddress"] == "127.0.0.1:1"
    assert config["nodePortAddresses"] == ["10.123.0.1/32"]
    assert config["conntrack"]["maxPerCore"] == 0
    assert config["iptables"]["localhostNodePorts"] is False


def test_the_kubernetes_service_points_at_the_relay() -> None:
    slice_ = apiserver_endpoint_slice("10.123.0.1", 6443)
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "kubernetes"
    assert slice_["endpoints"][0]["addresses"] == ["10.123.0.1"]
    assert slice_["ports"] == [{"name": "https", "port": 6443, "protocol": "TCP"}]
