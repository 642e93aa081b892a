"""Helpers of the operator's tests on a real API server: kubectl in a namespace, the operator process.

The operator runs as a subprocess (``gpt-sovits-operator --standalone --namespaces <ns>``), the way
it runs in its pod, with short resync and watch timeouts so tests finish quickly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "voiceservices.yaml"
CHART = ROOT / "charts" / "gpt-sovits"
OPERATOR = Path(sys.executable).parent / "gpt-sovits-operator"
WAIT_S = 60.0


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT_S, every: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class Kubectl:
    """kubectl bound to one namespace, with JSON helpers."""

    cluster: Any
    namespace: str

    def run(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl("-n", self.namespace, *args, input=input, check=check)

    def apply(self, obj: dict[str, Any]) -> None:
        self.run("apply", "-f", "-", input=json.dumps(obj))

    def create(self, obj: dict[str, Any], check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("create", "-f", "-", input=json.dumps(obj), check=check)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        result = self.run("get", kind, name, "-o", "json", check=False)
        if result.returncode != 0:
            if "NotFound" in result.stderr or "not found" in result.stderr:
                return None
            raise AssertionError(result.stderr)
        return dict(json.loads(result.stdout))

    def patch(self, kind: str, name: str, patch: dict[str, Any], kind_of_patch: str = "merge") -> None:
        self.run("patch", kind, name, "--type", kind_of_patch, "-p", json.dumps(patch))

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        vs = self.get("voiceservice", name) or {}
        for cond in (vs.get("status") or {}).get("conditions") or []:
            if cond["type"] == kind:
                return dict(cond)
        return None

    def events(self, name: str) -> list[dict[str, Any]]:
        result = self.run("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json")
        return list(json.loads(result.stdout)["items"])


@dataclass
class OperatorProcess:
    """A running operator; ``log`` holds what it printed so far."""

    process: subprocess.Popen[str]
    log_path: Path
    liveness_port: int
    metrics_port: int
    args: list[str] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    def reconciles(self) -> float:
        """Reconciles done so far, from the operator's own metrics."""
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith("voice_operator_reconciles_total{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_operator(
    cluster: Any,
    namespace: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    *extra: str,
    standalone: bool = True,
) -> OperatorProcess:
    """Start the operator for ``namespace`` and wait for its liveness endpoint."""
    liveness, metrics = _free_port(), _free_port()
    args = [
        str(OPERATOR),
        *(["--standalone"] if standalone else []),
        "--namespaces",
        namespace,
        "--log-format",
        "text",
        "--liveness-port",
        str(liveness),
        "--metrics-port",
        str(metrics),
        "--resync-interval-s",
        "3",
        "--watch-server-timeout-s",
        "10",
        "--watch-client-timeout-s",
        "15",
        "--api-timeout-s",
        "10",
        "--backoff-max-s",
        "5",
        "--default-image",
        "gpt-sovits-k8s/server:e2e",
        *extra,
    ]
    out = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        args, stdout=out, stderr=subprocess.STDOUT, text=True, env=env or cluster.env()
    )
    handle = OperatorProcess(process, log_path, liveness, metrics, args)
    try:
        wait_for("the operator's liveness endpoint", lambda: process.poll() is not None or _alive(liveness))
        if process.poll() is not None:
            raise AssertionError(f"operator exited with {process.returncode}:\n{handle.log()[-4000:]}")
    except BaseException:
        handle.stop()
        raise
    return handle


def chart_rbac(cluster: Any, namespace: str, release: str) -> list[dict[str, Any]]:
    """The chart's ServiceAccount, ClusterRole and ClusterRoleBinding as rendered by default.

    That is the cluster-wide mode; the account lives in ``namespace`` and ``release`` names all three.
    """
    helm = [str(cluster.bin_dir / "helm"), "template", release, str(CHART), "--namespace", namespace]
    options = ["--kube-version", "v1.36.3", "--set", f"fullnameOverride={release}"]
    result = subprocess.run(
        [*helm, *options], capture_output=True, text=True, timeout=120, env=cluster.env(), check=False
    )
    assert result.returncode == 0, result.stderr
    kinds = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc and doc["kind"] in kinds]


def service_account_kubeconfig(cluster: Any, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig for the cluster that authenticates as ``account``, with a fresh token."""
    token = cluster.kubectl("create", "token", account, "-n", namespace, "--duration", "1h").stdout.strip()
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text(encoding="utf-8"))
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": admin["clusters"],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [
            {"name": account, "context": {"cluster": admin["clusters"][0]["name"], "user": account}}
        ],
        "current-context": account,
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def voiceservice(name: str, **spec: Any) -> dict[str, Any]:
    """A VoiceService manifest: CPU-only weights baked into the image unless ``spec`` says otherwise."""
    body: dict[str, Any] = {
        "model": {"gptWeights": "demo-gpt.ckpt", "sovitsWeights": "demo-sovits.pth", "source": {"image": {}}},
        "resources": {"gpu": 0, "requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
    }
    body.update(spec)
    return {
        "apiVersion": "voice.gpt-sovits.io/v1alpha1",
        "kind": "VoiceService",
        "metadata": {"name": name},
        "spec": body,
    }
