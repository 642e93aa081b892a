"""Brings the local control plane up and down: etcd, kube-apiserver, controller manager,
scheduler, kwok (fake nodes), metrics-server and, opt-in, the metrics pipeline (Prometheus and
prometheus-adapter), all as host processes on loopback ports.

``up`` records every pid and port in ``state.json`` as it goes, so ``down`` (possibly from
another process) stops exactly what was started, and a failed ``up`` cleans up after itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import shutil
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from e2e.cluster import manifests, metrics_pipeline, node_images, processes
from e2e.cluster.build import Toolset, ensure_pipeline_built
from e2e.cluster.certs import FRONT_PROXY_CLIENT, Pki, ensure_client_cert, ensure_pki, ensure_serving_cert
from e2e.cluster.cluster import Cluster
from e2e.cluster.node import NodeContext, NodeError, RealNode
from e2e.cluster.processes import Component, PortClashError
from e2e.cluster.settings import ClusterSettings

log = logging.getLogger(__name__)

SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
# Controllers' health endpoints are served without credentials so readiness can be probed.
_ALWAYS_ALLOW = "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics"
_PORT_ATTEMPTS = 3
_PROBE_TIMEOUT_S = 3.0
# kwok renews node leases at a quarter of this; the node controller waits longer before NotReady.
_NODE_LEASE_S = 40
_NODE_GRACE = "60s"

Progress = Callable[[str], None]


@dataclass
class RunningComponent:
    """What state.json records about one started component."""

    name: str
    pid: int
    executable: str
    log_file: str
    ports: list[int]


@dataclass
class ClusterState:
    """The persisted description of a running local cluster."""

    name: str
    bin_dir: str
    kubeconfig: str
    server: str = ""
    real_node: bool = False
    metrics_pipeline: bool = False
    components: list[RunningComponent] = field(default_factory=list)

    def save(self, path: Path) -> None:
        """Write atomically, so a reader never sees half a file."""
        tmp = path.with_suffix(".tmp")
        data = {
            "name": self.name,
            "bin_dir": self.bin_dir,
            "kubeconfig": self.kubeconfig,
            "server": self.server,
            "real_node": self.real_node,
            "metrics_pipeline": self.metrics_pipeline,
            "components": [vars(c) for c in self.components],
        }
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ClusterState | None:
        """Read state.json; ``None`` when absent or unreadable."""
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        comps = [RunningComponent(**c) for c in data.pop("components", [])]
        return cls(**data, components=comps)


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Serialise up/down on one state folder across processes."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tcp_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=_PROBE_TIMEOUT_S):
        return True


def _https_ok(url: str, context: ssl.SSLContext) -> bool:
    with urllib.request.urlopen(url, context=context, timeout=_PROBE_TIMEOUT_S) as response:
        return int(response.status) == 200


def _insecure_context() -> ssl.SSLContext:
    # Only for health probes of loopback listeners whose certificates are self-signed.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class LocalControlPlane:
    """One named local cluster: its state folder, processes and kubeconfig."""

    def __init__(
        self,
        settings: ClusterSettings,
        toolset: Toolset | None = None,
        progress: Progress | None = None,
        pick_port: Callable[[], int] = processes.free_port,
    ) -> None:
        self.settings = settings
        self._pick_port = pick_port
        self.root = settings.cluster_dir
        self._state_file = manifests.state_path(self.root)
        # down/status need no build: the binaries are wherever the recorded cluster took them from.
        self.toolset = toolset or self._recorded_toolset()
        self.say = progress or log.info
        self.pki = Pki(self.root / "pki")
        self.log_dir = self.root / "logs"
        self.kubeconfig = self.root / "kubeconfig"
        self._started: list[Component] = []
        self._state = ClusterState(
            name=settings.name, bin_dir=str(self.toolset.bin_dir), kubeconfig=str(self.kubeconfig)
        )

    def _recorded_toolset(self) -> Toolset:
        state = ClusterState.load(self._state_file)
        return Toolset(Path(state.bin_dir).parent if state else self.root / "no-binaries")

    # ----------------------------------------------------------------- public

    def cluster(self) -> Cluster:
        """The handle tests use."""
        logs = {c.name: Path(c.log_file) for c in self._recorded_components()}
        return Cluster(kubeconfig=self.kubeconfig, bin_dir=self.toolset.bin_dir, log_files=logs)

    def up(self) -> Cluster:
        """Start every component (or reuse a healthy running cluster) and return its handle."""
        with _locked(self.root):
            if self._healthy():
                self.say(f"cluster {self.settings.name!r} is already running")
                return self.cluster()
            self._stop_recorded()
            try:
                self._start_all()
            except BaseException:
                self.say("start failed; stopping what was started")
                self._stop_recorded()
                raise
        return self.cluster()

    def down(self) -> None:
        """Stop every recorded component and remove the etcd data; logs are kept."""
        with _locked(self.root):
            self._stop_recorded()
            shutil.rmtree(self.root / "etcd", ignore_errors=True)

    def status(self) -> dict[str, Any]:
        """Which recorded components run, and whether the API answers."""
        state = ClusterState.load(self._state_file)
        components = {
            c.name: {
                "pid": c.pid,
                "running": processes.pid_runs(c.pid, Path(c.executable)),
                "ports": c.ports,
                "log": c.log_file,
            }
            for c in (state.components if state else [])
        }
        return {
            "name": self.settings.name,
            "state_dir": str(self.root),
            "kubeconfig": str(self.kubeconfig) if state else None,
            "server": state.server if state else None,
            "api_ready": self._api_ready_quietly(),
            "real_node": bool(state and state.real_node),
            "metrics_pipeline": bool(state and state.metrics_pipeline),
            "components": components,
        }

    # ---------------------------------------------------------------- startup

    def _start_all(self) -> None:
        started = time.monotonic()
        self.say("generating certificates")
        ensure_pki(self.pki.root)
        self._state = ClusterState(
            name=self.settings.name,
            bin_dir=str(self.toolset.bin_dir),
            kubeconfig=str(self.kubeconfig),
            real_node=self.settings.real_node,
            metrics_pipeline=self.settings.metrics_pipeline,
        )
        self._started = []
        etcd_port = self._start_etcd()
        api_port = self._start_apiserver(etcd_port)
        self._write_kubeconfig(api_port)
        cluster = self.cluster()
        self._start_controller_manager()
        self._start_scheduler()
        kwok_port = self._start_kwok()
        self._create_nodes(cluster, kwok_port)
        if self.settings.metrics:
            self._start_metrics_server(cluster)
        if self.settings.metrics_pipeline:
            pipeline = ensure_pipeline_built(self.settings, self.say)
            prometheus_port = self._start_prometheus(cluster, pipeline, api_port)
            self._start_prometheus_adapter(cluster, pipeline, prometheus_port)
        if self.settings.real_node:
            self._real_node(api_port).start(cluster)
        took = time.monotonic() - started
        self.say(f"cluster {self.settings.name!r} is up in {took:.1f}s; KUBECONFIG={self.kubeconfig}")

    def _launch(
        self,
        name: str,
        port_count: int,
        argv: Callable[[list[int]], list[str]],
        ready: Callable[[list[int]], Callable[[], bool]],
    ) -> list[int]:
        """Start one component on fresh free ports, retrying when a port was taken meanwhile."""
        log_file = self.log_dir / f"{name}.log"
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            ports = [self._pick_port() for _ in range(port_count)]
            self.say(f"starting {name} (ports {ports})")
            component = processes.start(name, argv(ports), log_file)
            self._record(component, ports)
            try:
                processes.wait_for(f"{name} ready", ready(ports), self.settings.start_timeout_s, [component])
            except PortClashError:
                processes.stop(component, self.settings.stop_timeout_s)
                if attempt == _PORT_ATTEMPTS:
                    raise
                self.say(f"{name}: a port was taken meanwhile; retrying on new ports")
                continue
            return ports
        raise AssertionError("unreachable")

    def _suspects(self, first: str) -> list[Component]:
        """All started components, ``first`` leading: a timeout then shows that one's log."""
        return sorted(self._started, key=lambda c: c.name != first)

    def _record(self, component: Component, ports: list[int]) -> None:
        self._started = [c for c in self._started if c.name != component.name] + [component]
        entry = RunningComponent(
            component.name, component.pid, str(component.executable), str(component.log_file), ports
        )
        self._state.components = [c for c in self._state.components if c.name != component.name] + [entry]
        self._state.save(self._state_file)

    def _bin(self, name: str) -> str:
        return str(self.toolset.binary(name))

    def _start_etcd(self) -> int:
        data_dir = self.root / "etcd"
        shutil.rmtree(data_dir, ignore_errors=True)

        def argv(ports: list[int]) -> list[str]:
            client, peer = (f"http://127.0.0.1:{p}" for p in ports)
            return [
                self._bin("etcd"),
                "--name=default",
                f"--data-dir={data_dir}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                # Test data is disposable: skipping fsync makes every write much faster.
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ]

        def ready(ports: list[int]) -> Callable[[], bool]:
            def probe() -> bool:
                url = f"http://127.0.0.1:{ports[0]}/health"
                with urllib.request.urlopen(url, timeout=_PROBE_TIMEOUT_S) as response:
                    return bool(json.loads(response.read()).get("health") == "true")

            return probe

        return self._launch("etcd", 2, argv, ready)[0]

    def _admin_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.crt("ca")))
        context.load_cert_chain(str(self.pki.crt("admin")), str(self.pki.key("admin")))
        return context

    def _start_apiserver(self, etcd_port: int) -> int:
        pki = self.pki

        def argv(ports: list[int]) -> list[str]:
            return [
                self._bin("kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                # Explicit: address auto-detection fails on machines without a default route.
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports[0]}",
                f"--tls-cert-file={pki.crt('apiserver')}",
                f"--tls-private-key-file={pki.key('apiserver')}",
                f"--client-ca-file={pki.crt('ca')}",
                "--authorization-mode=Node,RBAC",
                f"--service-account-issuer={SA_ISSUER}",
                f"--api-audiences={SA_ISSUER}",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                # No kubelet or kube-proxy runs, so nobody could use the `kubernetes` endpoints.
                "--endpoint-reconciler-type=none",
                # Reach kubelets at their InternalIP (kwok's: loopback; the real node's: its bridge
                # address), never by a hostname the host's resolver would look up, and log in to them
                # (the real kubelet authorizes every request; kwok ignores the certificate).
                "--kubelet-preferred-address-types=InternalIP",
                f"--kubelet-client-certificate={pki.crt('admin')}",
                f"--kubelet-client-key={pki.key('admin')}",
                # Aggregation layer, for metrics.k8s.io served by metrics-server.
                f"--requestheader-client-ca-file={pki.crt('front-proxy-ca')}",
                f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki.crt(FRONT_PROXY_CLIENT)}",
                f"--proxy-client-key-file={pki.key(FRONT_PROXY_CLIENT)}",
                "--profiling=false",
            ]

        context = self._admin_context()

        def ready(ports: list[int]) -> Callable[[], bool]:
            return lambda: _https_ok(f"https://127.0.0.1:{ports[0]}/readyz", context)

        port = self._launch("kube-apiserver", 1, argv, ready)[0]
        self._state.server = f"https://127.0.0.1:{port}"
        self._state.save(self._state_file)
        return port

    def _write_kubeconfig(self, api_port: int) -> None:
        config = manifests.kubeconfig(f"https://127.0.0.1:{api_port}", self.pki)
        tmp = self.kubeconfig.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        tmp.chmod(0o600)
        tmp.replace(self.kubeconfig)

    def _health_ready(self, path: str = "/healthz") -> Callable[[list[int]], Callable[[], bool]]:
        context = _insecure_context()

        def ready(ports: list[int]) -> Callable[[], bool]:
            return lambda: _https_ok(f"https://127.0.0.1:{ports[0]}{path}", context)

        return ready

    def _client_flags(self) -> list[str]:
        kc = str(self.kubeconfig)
        return [
            f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
            _ALWAYS_ALLOW,
        ]

    def _start_controller_manager(self) -> None:
        pki = self.pki

        def argv(ports: list[int]) -> list[str]:
            return [
                self._bin("kube-controller-manager"),
                *self._client_flags(),
                f"--secure-port={ports[0]}",
                f"--root-ca-file={pki.crt('ca')}",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--cluster-signing-cert-file={pki.crt('ca')}",
                f"--cluster-signing-key-file={pki.key('ca')}",
                f"--node-monitor-grace-period={_NODE_GRACE}",
                # Kept inside the state folder: the default is a system path the KCM would create.
                f"--flex-volume-plugin-dir={self.root / 'flexvolume'}",
                # Short HPA periods so autoscaling tests see decisions within seconds, not minutes.
                "--horizontal-pod-autoscaler-sync-period=2s",
                "--horizontal-pod-autoscaler-downscale-stabilization=5s",
                "--horizontal-pod-autoscaler-initial-readiness-delay=1s",
                # The default, kept: while a pod is this young the HPA takes only CPU samples wholly
                # after it turned Ready, so a server's model load never scales its voice out.
                "--horizontal-pod-autoscaler-cpu-initialization-period=5m",
                "--kube-api-qps=200",
                "--kube-api-burst=400",
            ]

        self._launch("kube-controller-manager", 1, argv, self._health_ready())

    def _start_scheduler(self) -> None:
        def argv(ports: list[int]) -> list[str]:
            return [self._bin("kube-scheduler"), *self._client_flags(), f"--secure-port={ports[0]}"]

        self._launch("kube-scheduler", 1, argv, self._health_ready())

    def _start_kwok(self) -> int:
        pki = self.pki

        def argv(ports: list[int]) -> list[str]:
            return [
                self._bin("kwok"),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={self.toolset.kwok_config}",
                # Manage only the nodes this tool creates, so real nodes of a cluster are never touched.
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={manifests.KWOK_ANNOTATION}=fake",
                "--manage-nodes-with-label-selector=",
                "--manage-single-node=",
                f"--cidr={POD_CIDR}",
                "--node-ip=127.0.0.1",
                f"--node-port={ports[0]}",
                f"--server-address=127.0.0.1:{ports[0]}",
                f"--tls-cert-file={pki.crt('kwok')}",
                f"--tls-private-key-file={pki.key('kwok')}",
                f"--node-lease-duration-seconds={_NODE_LEASE_S}",
            ]

        def ready(ports: list[int]) -> Callable[[], bool]:
            return lambda: _tcp_open(ports[0])

        return self._launch("kwok", 1, argv, ready)[0]

    def _create_nodes(self, cluster: Cluster, kwok_port: int) -> None:
        nodes = manifests.default_nodes()
        self.say(f"creating {len(nodes)} kwok nodes")
        cluster.kubectl(
            "create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes})
        )
        names = [n["metadata"]["name"] for n in nodes]

        def all_ready() -> bool:
            out = cluster.kubectl(
                "get", "nodes", *names, "-o",
                'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}',
            )  # fmt: skip
            return out.stdout.split() == ["True"] * len(names)

        processes.wait_for("nodes Ready", all_ready, self.settings.start_timeout_s, self._suspects("kwok"))

    def _start_metrics_server(self, cluster: Cluster) -> None:
        pki = self.pki
        kc = str(self.kubeconfig)

        def argv(ports: list[int]) -> list[str]:
            return [
                self._bin("metrics-server"),
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports[0]}",
                f"--tls-cert-file={pki.crt('metrics-server')}",
                f"--tls-private-key-file={pki.key('metrics-server')}",
                # kwok serves each node's kubelet-style metrics on its own port with its own cert.
                "--kubelet-insecure-tls",
                "--kubelet-use-node-status-port",
                "--kubelet-preferred-address-types=InternalIP",
                "--metric-resolution=10s",
                # Must stay below the resolution; kwok answers on loopback in milliseconds.
                "--kubelet-request-timeout=5s",
            ]

        def ready(ports: list[int]) -> Callable[[], bool]:
            return lambda: _tcp_open(ports[0])

        port = self._launch("metrics-server", 1, argv, ready)[0]
        objects = manifests.metrics_server_objects(port)
        cluster.kubectl(
            "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        )
        self._wait_available(cluster, "v1beta1.metrics.k8s.io", "metrics-server")

    def _wait_available(self, cluster: Cluster, api_service: str, component: str) -> None:
        """Wait until the aggregator reports ``api_service`` Available (it reached ``component``)."""

        def available() -> bool:
            out = cluster.kubectl(
                "get", "apiservice", api_service, "-o",
                'jsonpath={.status.conditions[?(@.type=="Available")].status}',
            )  # fmt: skip
            return out.stdout.strip() == "True"

        group = api_service.split(".", 1)[1]
        processes.wait_for(
            f"{group} Available", available, self.settings.start_timeout_s, self._suspects(component)
        )

    def _start_prometheus(self, cluster: Cluster, pipeline: Toolset, api_port: int) -> int:
        """Prometheus, finding pods through the apiserver as the ``prometheus`` certificate's user."""
        mp = metrics_pipeline
        binary = pipeline.binary("prometheus")
        ensure_client_cert(self.pki, mp.PROMETHEUS_CERT, f"/CN={mp.PROMETHEUS_USER}")
        cluster.kubectl(
            "apply", "-f", "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": mp.prometheus_rbac()}),
        )  # fmt: skip
        folder = self.root / "prometheus"
        data_dir = folder / "data"
        shutil.rmtree(data_dir, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        # A copy in the state folder, as for the adapter's rules: the cluster keeps the rules it
        # started with while the working tree changes.
        alerts = folder / mp.ALERT_RULES.name
        alerts.write_text(mp.alert_rules())
        config = folder / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                mp.prometheus_config(
                    f"https://127.0.0.1:{api_port}",
                    self.pki,
                    node_subnet=self.settings.node_subnet,
                    rule_files=[alerts],
                ),
                sort_keys=False,
            )
        )
        self.say(f"Prometheus: {mp.prometheus_version(binary)}")

        def argv(ports: list[int]) -> list[str]:
            return mp.prometheus_argv(binary, config, data_dir, ports[0])

        def ready(ports: list[int]) -> Callable[[], bool]:
            def probe() -> bool:
                url = f"http://127.0.0.1:{ports[0]}/-/ready"
                with urllib.request.urlopen(url, timeout=_PROBE_TIMEOUT_S) as response:
                    return int(response.status) == 200

            return probe

        return self._launch("prometheus", 1, argv, ready)[0]

    def _start_prometheus_adapter(self, cluster: Cluster, pipeline: Toolset, prometheus_port: int) -> None:
        """prometheus-adapter with the chart's rules, registered as custom.metrics.k8s.io."""
        mp = metrics_pipeline
        binary = pipeline.binary(mp.ADAPTER_NAME)
        ensure_serving_cert(self.pki, mp.ADAPTER_NAME, f"/CN={mp.ADAPTER_NAME}", mp.ADAPTER_SANS)
        folder = self.root / "prometheus-adapter"
        folder.mkdir(parents=True, exist_ok=True)
        rules = folder / "rules.yaml"
        rules.write_text(mp.render_adapter_rules(self.toolset.binary("helm")))

        def argv(ports: list[int]) -> list[str]:
            return mp.adapter_argv(
                binary,
                kubeconfig=self.kubeconfig,
                pki=self.pki,
                port=ports[0],
                prometheus_port=prometheus_port,
                rules=rules,
            )

        def ready(ports: list[int]) -> Callable[[], bool]:
            return lambda: _tcp_open(ports[0])

        port = self._launch(mp.ADAPTER_NAME, 1, argv, ready)[0]
        objects = mp.adapter_objects(port, self.pki.crt("ca"))
        cluster.kubectl(
            "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        )
        for version in mp.CUSTOM_METRICS_VERSIONS:
            self._wait_available(cluster, mp.api_service_name(version), mp.ADAPTER_NAME)

    # --------------------------------------------------------------- shutdown

    def _real_node(self, api_port: int = 0) -> RealNode:
        ctx = NodeContext(
            cluster_name=self.settings.name,
            cluster_dir=self.root,
            cache_dir=self.settings.cache_dir,
            toolset=self.toolset,
            pki=self.pki,
            log_dir=self.log_dir,
            api_port=api_port,
            service_cidr=SERVICE_CIDR,
            subnet=self.settings.node_subnet,
            start_timeout_s=self.settings.start_timeout_s,
            stop_timeout_s=self.settings.stop_timeout_s,
        )
        return RealNode(ctx, self.say, self._record)

    def _running_node(self) -> RealNode:
        state = ClusterState.load(self._state_file)
        if state is None or not state.real_node or not state.server:
            raise NodeError(f"cluster {self.settings.name!r} was not started with a real node")
        self._state = state
        return self._real_node(int(state.server.rsplit(":", 1)[1]))

    def stop_real_node(self) -> list[str]:
        """Stop only the real node and restore the host; returns what could not be restored."""
        with _locked(self.root):
            return self._running_node().stop()

    def start_real_node(self) -> None:
        """Start the real node of a cluster whose node was stopped with :meth:`stop_real_node`."""
        with _locked(self.root):
            self._running_node().start(self.cluster())

    def runs_real_node(self) -> bool:
        """True when this cluster was started with a real node and its API answers."""
        state = ClusterState.load(self._state_file)
        return bool(state and state.real_node and self._api_ready_quietly())

    def load_images(self, refs: Sequence[str], say: Progress | None = None) -> None:
        """Load buildah-built images into this cluster's running real node (progress to ``say``,
        by default the plane's own)."""
        if not self.runs_real_node():
            raise NodeError(f"cluster {self.settings.name!r} runs no real node (`up --real-node`)")
        node = self._real_node()
        for ref in refs:
            node_images.load(node.layout, self.settings.cache_dir, ref, say or self.say)

    def node_containerd_socket(self) -> Path:
        """The real node's containerd socket, for clients other than the kubelet (nerdctl)."""
        if not self.runs_real_node():
            raise NodeError(f"cluster {self.settings.name!r} runs no real node (`up --real-node`)")
        return self._real_node().layout.containerd_socket

    def _recorded_components(self) -> Sequence[RunningComponent]:
        state = ClusterState.load(self._state_file)
        return state.components if state else []

    def _stop_recorded(self) -> None:
        """Stop recorded components in reverse start order, then forget them.

        The real node goes first (its containers, then its agents) and the host is restored.
        """
        self._real_node().stop()
        by_pid = {c.pid: c for c in self._started}
        for entry in reversed(self._recorded_components()):
            own = by_pid.get(entry.pid)
            if own is not None:
                processes.stop(own, self.settings.stop_timeout_s)
            elif processes.pid_runs(entry.pid, Path(entry.executable)):
                self.say(f"stopping {entry.name} (pid {entry.pid})")
                processes.stop_recorded(entry.pid, Path(entry.executable), self.settings.stop_timeout_s)
        self._started = []
        self._state_file.unlink(missing_ok=True)

    def _healthy(self) -> bool:
        """True when every recorded component runs and the API answers."""
        state = ClusterState.load(self._state_file)
        if state is None or not state.components or state.bin_dir != str(self.toolset.bin_dir):
            return False
        if state.real_node != self.settings.real_node:
            return False
        if state.metrics_pipeline != self.settings.metrics_pipeline:
            return False
        if not all(processes.pid_runs(c.pid, Path(c.executable)) for c in state.components):
            return False
        return self._api_ready_quietly()

    def _api_ready_quietly(self) -> bool:
        state = ClusterState.load(self._state_file)
        if state is None or not state.server or not self.pki.crt("admin").is_file():
            return False
        try:
            return _https_ok(f"{state.server}/readyz", self._admin_context())
        except (OSError, ssl.SSLError, ValueError):
            return False
