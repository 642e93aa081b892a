"""A real node beside the kwok nodes: containerd, kubelet and kube-proxy as host processes.

Pods scheduled there really run (runc containers on a CNI bridge), pull nothing (images are
imported into containerd) and are reachable from the host at their IPs and ClusterIPs. The node is
tainted (``node_config.NODE_TAINT``) so only pods that tolerate it land there. One real node per
host: kube-proxy and the kubelet own host-wide iptables chains. Everything it changes on the host is
recorded first (``node_host``) and restored by :meth:`RealNode.stop`, also after a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from e2e.cluster import node_host, processes
from e2e.cluster.build import Toolset
from e2e.cluster.certs import Pki, ensure_client_cert
from e2e.cluster.cluster import Cluster
from e2e.cluster.node_config import (
    NO_REGISTRY_PROXY,
    NODE_LABEL,
    PAUSE_IMAGE_NAME,
    NodeLayout,
    apiserver_endpoint_slice,
    client_kubeconfig,
    cni_conflist,
    containerd_config,
    kube_proxy_config,
    kubelet_config,
)
from e2e.cluster.node_host import HostRecord
from e2e.cluster.oci_image import ImageSpec, write_image
from e2e.cluster.processes import Component
from e2e.cluster.versions import PAUSE_VERSION

log = logging.getLogger(__name__)

NODE_NAME = "real-node-0"
BRIDGE = "gsv-node0"
_LOCK = node_host.HOST_RECORD.with_name("lock")
_PROBE_TIMEOUT_S = 3.0
_REPO_ROOT = Path(__file__).resolve().parents[2]
# The node's programs, in start order; stopped in reverse.
NODE_COMPONENTS = ("containerd", "apiserver-relay", "kubelet", "kube-proxy")

Progress = Callable[[str], None]
Record = Callable[[Component, list[int]], None]


class NodeError(RuntimeError):
    """The real node cannot start here, or another one runs on this host."""


@contextlib.contextmanager
def _host_lock() -> Iterator[None]:
    """One start or stop of a real node at a time on this host."""
    _LOCK.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=_PROBE_TIMEOUT_S) as response:
        return int(response.status) == 200


def containerd_version() -> str:
    """``containerd --version``'s version field (e.g. 1.6.20~ds1)."""
    out = node_host.run("containerd", "--version").stdout.split()
    return out[2] if len(out) >= 3 else "unknown"


def store_dir(cache_dir: Path) -> Path:
    """containerd's content store, kept between runs and clusters so images are imported once."""
    return cache_dir / f"node-containerd-{containerd_version()}"


def _record_alive(record: HostRecord) -> list[str]:
    """Names of the recorded node processes that still run."""
    return [
        name for name, (pid, exe) in record.processes.items() if processes.pid_runs(int(pid), Path(str(exe)))
    ]


@dataclass
class NodeContext:
    """What the node needs from its control plane."""

    cluster_name: str
    cluster_dir: Path
    cache_dir: Path
    toolset: Toolset
    pki: Pki
    log_dir: Path
    api_port: int
    service_cidr: str
    subnet: str
    start_timeout_s: float
    stop_timeout_s: float


class RealNode:
    """Starts and stops one real node for one local cluster."""

    def __init__(self, ctx: NodeContext, say: Progress, record: Record) -> None:
        self.ctx = ctx
        self.say = say
        self._record = record
        self._started: list[Component] = []
        self._host: HostRecord | None = None
        # The store's folder is keyed by the installed containerd; known once start() checked it runs.
        self.layout = self._layout(ctx.cache_dir / "node-containerd")

    def _layout(self, store: Path) -> NodeLayout:
        return NodeLayout(self.ctx.cluster_dir / "node", store, NODE_NAME, self.ctx.subnet, BRIDGE)

    # ------------------------------------------------------------------ start

    def start(self, cluster: Cluster) -> None:
        """Bring the node up and wait until it is Ready with working Service routing."""
        reason = node_host.unsupported_reason()
        if reason is not None:
            raise NodeError(reason)
        started = time.monotonic()
        self.layout = self._layout(store_dir(self.ctx.cache_dir))
        with _host_lock():
            self._recover_leftovers()
            self._check_network_free()
            record = node_host.snapshot(
                self.ctx.cluster_name, self.layout.root, self.layout.store, self.layout.bridge
            )
            record.save()  # before anything changes, so even a crash right now is restorable
            self._host = record
            prefix = int(self.layout.subnet.split("/")[1])
            node_host.setup_network(self.layout.bridge, self.layout.node_ip, prefix, self.ctx.service_cidr)
            self._write_files()
            self._start_containerd()
            self._import_pause()
            self._start_relay(cluster)
            self._start_kubelet(cluster)
            self._start_kube_proxy()
        self.say(f"real node {NODE_NAME} Ready in {time.monotonic() - started:.1f}s ({self.layout.node_ip})")

    def _recover_leftovers(self) -> None:
        record = HostRecord.load()
        if record is None:
            return
        alive = _record_alive(record)
        if alive:
            raise NodeError(
                f"a real node of cluster {record.cluster!r} runs on this host ({', '.join(alive)}); "
                f"only one can: `python -m e2e.cluster down --name {record.cluster}`"
            )
        self.say(f"restoring host state left by an earlier real node (cluster {record.cluster!r})")
        self._restore(record)

    def _check_network_free(self) -> None:
        if node_host.link_exists(self.layout.bridge):
            raise NodeError(f"network interface {self.layout.bridge} exists but no node recorded it")
        for cidr in (self.layout.subnet, self.ctx.service_cidr):
            owner = node_host.route_owner(cidr)
            if owner is not None:
                raise NodeError(f"{cidr} is already routed (dev {owner}); pick another --node-subnet")

    def _note_process(self, component: Component, ports: list[int]) -> None:
        self._started.append(component)
        self._record(component, ports)
        assert self._host is not None  # set by start() before any process starts
        self._host.processes[component.name] = [component.pid, str(component.executable)]
        self._host.save()

    def _write_files(self) -> None:
        layout, ctx = self.layout, self.ctx
        for folder in ("cni/net.d", "cni/ipam", "kubelet/root", "kubelet/pki", "pod-logs", "images"):
            layout.path(*folder.split("/")).mkdir(parents=True, exist_ok=True)
        layout.store.mkdir(parents=True, exist_ok=True)
        # Pods get no cluster DNS; this keeps their resolver inside their own network namespace.
        layout.path("resolv.conf").write_text("nameserver 127.0.0.1\n")
        conflist = cni_conflist(layout, ctx.service_cidr)
        layout.path("cni", "net.d", "10-gsv-e2e.conflist").write_text(json.dumps(conflist, indent=2))
        cni_bin = node_host.cni_bin_dir()
        assert cni_bin is not None  # checked by unsupported_reason
        layout.path("containerd", "config.toml").parent.mkdir(parents=True, exist_ok=True)
        layout.path("containerd", "config.toml").write_text(
            containerd_config(
                layout,
                runc=Path(node_host.tool("runc")),
                cni_bin_dir=cni_bin,
                pause_ref=f"{PAUSE_IMAGE_NAME}:{PAUSE_VERSION}",
            )
        )
        ensure_client_cert(ctx.pki, f"node-{NODE_NAME}", f"/O=system:nodes/CN=system:node:{NODE_NAME}")
        ensure_client_cert(ctx.pki, "kube-proxy", "/CN=system:kube-proxy")
        server = f"https://127.0.0.1:{ctx.api_port}"
        for name, cert, user in (
            ("kubelet", f"node-{NODE_NAME}", f"system:node:{NODE_NAME}"),
            ("kube-proxy", "kube-proxy", "system:kube-proxy"),
        ):
            config = client_kubeconfig(server, ctx.pki.crt("ca"), ctx.pki.crt(cert), ctx.pki.key(cert), user)
            path = layout.path(name, "kubeconfig")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump(config, sort_keys=False))
            path.chmod(0o600)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # An image pull (a typo, a missing import) goes to a closed loopback port, never outside.
        env.update(HTTP_PROXY=NO_REGISTRY_PROXY, HTTPS_PROXY=NO_REGISTRY_PROXY, NO_PROXY="")
        env.pop("http_proxy", None)
        env.pop("https_proxy", None)
        env.pop("no_proxy", None)
        # The relay is this project's own module, wherever the caller's working directory is.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH", "")]))
        return env

    def _start(self, name: str, argv: list[str], ports: list[int], ready: Callable[[], bool]) -> None:
        self.say(f"starting {name}")
        component = processes.start(name, argv, self.ctx.log_dir / f"{name}.log", env=self._env())
        self._note_process(component, ports)
        processes.wait_for(f"{name} ready", ready, self.ctx.start_timeout_s, [component])

    def ctr(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``ctr`` against this node's containerd, in the CRI's namespace."""
        cmd = [
            node_host.tool("ctr"),
            "--address",
            str(self.layout.containerd_socket),
            "--namespace",
            "k8s.io",
        ]
        result = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise NodeError(f"ctr {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def _start_containerd(self) -> None:
        binary = node_host.tool("containerd")
        argv = [binary, "--config", str(self.layout.path("containerd", "config.toml"))]
        self._start("containerd", argv, [], lambda: self.ctr("version", check=False).returncode == 0)

    def _import_pause(self) -> None:
        spec = ImageSpec(
            name=PAUSE_IMAGE_NAME,
            tag=PAUSE_VERSION,
            files={"/pause": self.ctx.toolset.binary("pause")},
            entrypoint=["/pause"],
        )
        archive = self.layout.path("images", "pause.tar")
        write_image(spec, archive)
        self.ctr("images", "import", "--all-platforms", str(archive))

    def _start_relay(self, cluster: Cluster) -> None:
        port = self.ctx.api_port
        listen = f"{self.layout.node_ip}:{port}"
        argv = [sys.executable, "-m", "e2e.cluster.forward", listen, f"127.0.0.1:{port}"]

        def ready() -> bool:
            with socket.create_connection((self.layout.node_ip, port), timeout=_PROBE_TIMEOUT_S):
                return True

        self._start("apiserver-relay", argv, [port], ready)
        slice_ = apiserver_endpoint_slice(self.layout.node_ip, port)
        cluster.kubectl("apply", "-f", "-", input=json.dumps(slice_))

    def _start_kubelet(self, cluster: Cluster) -> None:
        layout = self.layout
        healthz = processes.free_port()
        config = kubelet_config(layout, ca_file=self.ctx.pki.crt("ca"), healthz_port=healthz)
        layout.path("kubelet", "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            str(self.ctx.toolset.binary("kubelet")),
            f"--config={layout.path('kubelet', 'config.yaml')}",
            f"--kubeconfig={layout.path('kubelet', 'kubeconfig')}",
            f"--root-dir={layout.kubelet_root}",
            f"--cert-dir={layout.path('kubelet', 'pki')}",
            f"--node-ip={layout.node_ip}",
            f"--hostname-override={NODE_NAME}",
            f"--node-labels={NODE_LABEL}=true",
            "--v=1",
        ]
        self._start(
            "kubelet", argv, [healthz, 10250], lambda: _http_ok(f"http://127.0.0.1:{healthz}/healthz")
        )

        def node_ready() -> bool:
            out = cluster.kubectl(
                "get", "node", NODE_NAME, "-o",
                'jsonpath={.status.conditions[?(@.type=="Ready")].status}', check=False,
            )  # fmt: skip
            return out.stdout.strip() == "True"

        processes.wait_for(
            f"node {NODE_NAME} Ready", node_ready, self.ctx.start_timeout_s, self._started[::-1]
        )

    def _start_kube_proxy(self) -> None:
        layout = self.layout
        healthz, metrics = processes.free_port(), processes.free_port()
        config = kube_proxy_config(
            layout,
            kubeconfig=layout.path("kube-proxy", "kubeconfig"),
            healthz_port=healthz,
            metrics_port=metrics,
        )
        layout.path("kube-proxy", "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            str(self.ctx.toolset.binary("kube-proxy")),
            f"--config={layout.path('kube-proxy', 'config.yaml')}",
        ]
        self._start(
            "kube-proxy", argv, [healthz, metrics], lambda: _http_ok(f"http://127.0.0.1:{healthz}/healthz")
        )

    # ------------------------------------------------------------------- stop

    def stop(self) -> list[str]:
        """Stop the node of this cluster (if it runs or crashed) and restore the host.

        Returns what could not be restored (also logged); an empty list means the host is as before.
        """
        record = HostRecord.load()
        if record is None or record.cluster != self.ctx.cluster_name:
            return []  # checked before locking: clusters without a node (and non-root users) skip this
        with _host_lock():
            record = HostRecord.load()
            if record is None or record.cluster != self.ctx.cluster_name:
                return []
            return self._restore(record)

    def _restore(self, record: HostRecord) -> list[str]:
        layout = NodeLayout(
            Path(record.node_root), Path(record.store), NODE_NAME, self.ctx.subnet, record.bridge
        )
        self.layout = layout
        procs = {name: (int(pid), Path(str(exe))) for name, (pid, exe) in record.processes.items()}
        grace = self.ctx.stop_timeout_s
        # The agents first, so nothing restarts the containers killed next.
        for name in ("kube-proxy", "kubelet", "apiserver-relay"):
            if name in procs:
                processes.stop_recorded(*procs[name], grace)
        if "containerd" in procs and processes.pid_runs(*procs["containerd"]):
            self._remove_containers()
            processes.stop_recorded(*procs["containerd"], grace)
        kube_proxy = self.ctx.toolset.binary("kube-proxy")
        if kube_proxy.is_file():
            # Removes kube-proxy's own chains in every mode; the generic sweep below gets the rest.
            subprocess.run([str(kube_proxy), "--cleanup"], capture_output=True, timeout=120, check=False)
        errors = node_host.restore(record, [])
        if not errors:
            for runtime in ("containerd", "kubelet", "cni"):
                shutil.rmtree(layout.path(runtime), ignore_errors=True)
            node_host.HOST_RECORD.unlink(missing_ok=True)
        for error in errors:
            log.warning("real node teardown: %s", error)
        return errors

    def _remove_containers(self) -> None:
        """Kill and delete every container of the CRI namespace (images stay)."""
        tasks = self.ctr("tasks", "ls", "-q", check=False).stdout.split()
        for task in tasks:
            self.ctr("tasks", "kill", "--all", "--signal", "SIGKILL", task, check=False)
        deadline = time.monotonic() + 20
        while tasks and time.monotonic() < deadline:
            for task in tasks:
                # Fails while the task is still exiting, and once the CRI has deleted it itself.
                self.ctr("tasks", "delete", "--force", task, check=False)
            tasks = self.ctr("tasks", "ls", "-q", check=False).stdout.split()
            if tasks:
                time.sleep(0.2)
        for container in self.ctr("containers", "ls", "-q", check=False).stdout.split():
            self.ctr("containers", "delete", container, check=False)
