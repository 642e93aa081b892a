"""The real node's configuration files: containerd, CNI, kubelet, kube-proxy. Pure functions.

Every path the daemons would otherwise take from the host (/var/lib/containerd, /etc/cni,
/var/lib/kubelet, /opt/containerd, ...) is pointed into the node's own folders, so two runs never
share state and teardown knows everything it has to remove.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Pods meant for the real node tolerate this taint and select this label; nothing else lands there.
NODE_LABEL = "gsv-e2e/real-node"
NODE_TAINT = {"key": NODE_LABEL, "value": "true", "effect": "NoSchedule"}
# What a pod spec (or a VoiceService, or the chart's operator values) adds to land on the node.
ON_REAL_NODE: dict[str, Any] = {
    "nodeSelector": {NODE_LABEL: "true"},
    "tolerations": [{**NODE_TAINT, "operator": "Equal"}],
}
PAUSE_IMAGE_NAME = "localhost/gsv-e2e/pause"
# Any image pull is sent to this closed loopback port, so a missing image never reaches a registry.
NO_REGISTRY_PROXY = "http://127.0.0.1:9"


@dataclass(frozen=True)
class NodeLayout:
    """Where one real node keeps its files, and its network addresses."""

    root: Path  # per-cluster: configs, kubelet root, containerd state, CNI leases
    store: Path  # per-host, kept between runs: containerd's content and snapshots (imported images)
    node_name: str
    subnet: str
    bridge: str

    @property
    def node_ip(self) -> str:
        """The bridge's address: the node's InternalIP, where the kubelet listens."""
        return str(next(ipaddress.ip_network(self.subnet).hosts()))

    @property
    def containerd_socket(self) -> Path:
        """containerd's gRPC socket (kubelet and ctr)."""
        return self.root / "containerd" / "containerd.sock"

    @property
    def containerd_state(self) -> Path:
        """containerd's runtime state (sockets, shims' bundles, network namespaces)."""
        return self.root / "containerd" / "state"

    @property
    def kubelet_root(self) -> Path:
        """The kubelet's --root-dir (pods' volumes are mounted below it)."""
        return self.root / "kubelet" / "root"

    def path(self, *parts: str) -> Path:
        """A file below the node's folder."""
        return self.root.joinpath(*parts)


def _toml_string(value: str | Path) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def containerd_config(layout: NodeLayout, *, runc: Path, cni_bin_dir: Path, pause_ref: str) -> str:
    """containerd 1.6 (config version 2) with private root, state, socket and CNI folders.

    ``restrict_oom_score_adj``: where the host lacks CAP_SYS_RESOURCE a container can never lower
    its oom_score_adj, and the kubelet asks -998 for sandboxes; without this every sandbox fails.
    """
    q = _toml_string
    store = layout.store
    return f"""version = 2
root = {q(store / "root")}
state = {q(layout.containerd_state)}
[grpc]
  address = {q(layout.containerd_socket)}
[ttrpc]
  address = {q(str(layout.containerd_socket) + ".ttrpc")}
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = {q(store / "opt")}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = {q(pause_ref)}
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = {q(runc)}
        Root = {q(layout.path("containerd", "runc"))}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = {q(cni_bin_dir)}
    conf_dir = {q(layout.path("cni", "net.d"))}
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
"""


def cni_conflist(layout: NodeLayout, service_cidr: str) -> dict[str, Any]:
    """A bridge network with host-local addresses and no default route.

    Pods can reach the bridge (the host), each other and Service addresses (routed to the bridge,
    where kube-proxy's rules translate them), and nothing else: no masquerading, no egress.
    """
    return {
        "cniVersion": "1.0.0",
        "name": "gsv-e2e",
        "plugins": [
            {
                "type": "bridge",
                "bridge": layout.bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(layout.path("cni", "ipam")),
                    "ranges": [[{"subnet": layout.subnet, "gateway": layout.node_ip}]],
                    "routes": [{"dst": service_cidr}],
                },
            }
        ],
    }


def kubelet_config(layout: NodeLayout, *, ca_file: Path, healthz_port: int) -> dict[str, Any]:
    """KubeletConfiguration for a cgroup-v1 host with no systemd, serving on the bridge address."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": layout.node_ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_file)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "imageServiceEndpoint": f"unix://{layout.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        # Without systemd and with cgroup v1 the per-QoS hierarchy and node allocatable enforcement
        # are the parts that fail; container limits are still enforced per container.
        "cgroupsPerQOS": False,
        "enforceNodeAllocatable": [],
        "failCgroupV1": False,
        "failSwapOn": False,
        "protectKernelDefaults": False,
        "resolvConf": str(layout.path("resolv.conf")),
        "clusterDomain": "cluster.local",
        "podLogsDir": str(layout.path("pod-logs")),
        "volumePluginDir": str(layout.path("kubelet", "volume-plugins")),
        "serializeImagePulls": False,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "nodeStatusUpdateFrequency": "10s",
        "registerWithTaints": [NODE_TAINT],
        # The node shares the host's disk with image builds and caches: a percentage (the default
        # 10 %, even 2 % of a large disk) evicts pods while many GB are still free.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "512Mi",
            "imagefs.available": "512Mi",
            "nodefs.inodesFree": "2%",
        },
        # Imported images cannot be pulled again: never garbage-collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
    }


def kube_proxy_config(
    layout: NodeLayout, *, kubeconfig: Path, healthz_port: int, metrics_port: int
) -> dict[str, Any]:
    """iptables-mode kube-proxy that touches no conntrack sysctl and no route_localnet."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "mode": "iptables",
        "hostnameOverride": layout.node_name,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        # Host -> ClusterIP traffic comes from outside this range, so it is masqueraded and the
        # pod's reply returns through the host.
        "clusterCIDR": layout.subnet,
        "nodePortAddresses": [f"{layout.node_ip}/32"],
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {
            "localhostNodePorts": False,
            "masqueradeAll": False,
            "syncPeriod": "30s",
            "minSyncPeriod": "1s",
        },
    }


def client_kubeconfig(server: str, ca_file: Path, cert: Path, key: Path, user: str) -> dict[str, Any]:
    """A kubeconfig for one client-certificate identity (the kubelet's, kube-proxy's)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [{"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
        "current-context": "local",
    }


def apiserver_endpoint_slice(node_ip: str, port: int) -> dict[str, Any]:
    """Endpoints of the ``kubernetes`` Service: in-cluster clients reach the apiserver through
    the host's forwarder on the bridge address (the apiserver itself listens on loopback only)."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kubernetes-real-node",
            "namespace": "default",
            "labels": {
                "kubernetes.io/service-name": "kubernetes",
                "endpointslice.kubernetes.io/managed-by": "gsv-e2e.cluster",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [node_ip], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }
