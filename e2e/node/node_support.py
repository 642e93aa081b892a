"""Helpers of the real-node tests: a demo model on disk, a model file server, waits, TTS calls."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import soundfile

from e2e.cluster import Cluster
from e2e.cluster.node_config import ON_REAL_NODE
from e2e.cluster.node_images import OPERATOR_IMAGE, SERVER_IMAGE
from e2e.demo_node import service_url
from e2e.scaling import live_pods

CHART = Path(__file__).resolve().parents[2] / "charts" / "gpt-sovits"
__all__ = ["ON_REAL_NODE", "OPERATOR_IMAGE", "SERVER_IMAGE", "service_url"]


def wait_for(predicate: Callable[[], Any], what: str, timeout_s: float, poll_s: float = 1.0) -> Any:
    """Poll until ``predicate`` returns something truthy; returns it."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(poll_s)


def get_json(cluster: Cluster, *args: str) -> Any:
    """``kubectl get ... -o json``."""
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def helm(
    cluster: Cluster, *args: str, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """helm from the cluster's bin folder; failures raise with its output when ``check``."""
    result = subprocess.run(
        [str(cluster.bin_dir / "helm"), *args],
        capture_output=True, text=True, timeout=timeout, env=cluster.env(), check=False,
    )  # fmt: skip
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


def model_archive(folder: Path, out: Path) -> str:
    """The bundle as a .tar.gz (files at its top level, as the http source unpacks them); sha256."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.name.startswith("."):
                continue
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    out.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


@contextmanager
def file_server(folder: Path, host: str) -> Iterator[str]:
    """Serve ``folder`` over HTTP on ``host`` (the node's bridge address); yields the base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def apply_voice(cluster: Cluster, namespace: str, name: str, spec: dict[str, Any]) -> None:
    """Create or update a VoiceService."""
    body = {
        "apiVersion": "voice.gpt-sovits.io/v1alpha1",
        "kind": "VoiceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(body))


def decode_wav(data: bytes) -> tuple[int, int]:
    """(sample rate, frames) of a WAV body; raises if it does not decode."""
    samples, rate = soundfile.read(io.BytesIO(data))
    return int(rate), len(samples)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among a log's lines."""
    lines = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return lines


# Model load and warm-up of a server pod on a 2-core machine, with other work beside it.
READY_TIMEOUT_S = 420


def ready_pod(cluster: Cluster, namespace: str, voice: str) -> dict[str, Any] | None:
    """The VoiceService's one pod that is not terminating, or None (none, or several)."""
    running = live_pods(cluster, namespace, voice)
    return dict(running[0]) if len(running) == 1 else None


def wait_voice_ready(cluster: Cluster, namespace: str, voice: str) -> dict[str, Any]:
    """Wait for phase Ready; on time-out, fail with the pods' description and logs."""

    def ready() -> dict[str, Any] | None:
        body = get_json(cluster, "vsvc", voice, "-n", namespace)
        return body if body.get("status", {}).get("phase") == "Ready" else None

    try:
        return dict(wait_for(ready, f"VoiceService {voice} Ready", READY_TIMEOUT_S, 2))
    except AssertionError:
        described = cluster.kubectl("describe", "pods", "-n", namespace, check=False).stdout
        logs = cluster.kubectl("logs", "-n", namespace, "-l", f"app.kubernetes.io/instance={voice}",
                               "--all-containers", "--tail=40", check=False)  # fmt: skip
        raise AssertionError(f"{voice} not Ready\n{described[-6000:]}\n{logs.stdout[-4000:]}") from None
