"""Real pods that cannot serve say why in the VoiceService's status and Events, not by silence.

Each case is a fault a user meets: an image the node does not have, a checkpoint that does not
load (the server crash-loops), a model download that fails its sha256 (the init container), and a
GPU request that no node can meet (the pod stays Pending).
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.cluster.node import NODE_NAME
from e2e.demo_node import node_voice_spec
from e2e.node.node_support import (
    apply_voice,
    file_server,
    get_json,
    model_archive,
    wait_for,
)
from e2e.scaling import condition

pytestmark = pytest.mark.cluster

# The slowest case: a crash needs start-up, three failed liveness probes (30 s) and a restart.
DEGRADED_TIMEOUT_S = 300


def _degraded(cluster: Cluster, namespace: str, name: str, reason: str) -> dict[str, Any]:
    """Wait for the Degraded condition with ``reason``; returns the condition."""

    def found() -> dict[str, Any] | None:
        body = get_json(cluster, "vsvc", name, "-n", namespace)
        degraded = condition(body, "Degraded")
        if degraded.get("status") == "True" and degraded.get("reason") == reason:
            assert body["status"]["phase"] == "Degraded"
            return degraded
        return None

    try:
        return dict(wait_for(found, f"{name} Degraded with reason {reason}", DEGRADED_TIMEOUT_S, 2))
    except AssertionError:
        body = get_json(cluster, "vsvc", name, "-n", namespace)
        pods = cluster.kubectl("get", "pods", "-n", namespace, "-o", "wide", check=False).stdout
        raise AssertionError(f"{name}: status {body.get('status')}\n{pods}") from None


def _event(cluster: Cluster, namespace: str, name: str, reason: str) -> dict[str, Any]:
    """The Warning Event the operator posted on the VoiceService for ``reason``."""

    def posted() -> dict[str, Any] | None:
        events = get_json(
            cluster, "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}"
        )["items"]
        hits = [e for e in events if e["involvedObject"]["kind"] == "VoiceService" and e["reason"] == reason]
        return dict(hits[0]) if hits else None

    event = dict(wait_for(posted, f"a {reason} Event on {name}", 60, 1))
    assert event["type"] == "Warning"
    return event


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(2)}"


def _delete(cluster: Cluster, namespace: str, name: str) -> None:
    cluster.kubectl("delete", "vsvc", name, "-n", namespace, "--wait=true", "--timeout=120s", check=False)


def test_an_absent_image_is_named(
    cluster: Cluster, operator_pod: dict[str, Any], voice_namespace: str, tmp_path: Path
) -> None:
    name = _name("noimage")
    spec = node_voice_spec({"hostPath": {"path": str(tmp_path)}})
    spec["image"] = "gpt-sovits-k8s/server:absent"
    apply_voice(cluster, voice_namespace, name, spec)
    try:
        degraded = _degraded(cluster, voice_namespace, name, "ImageUnavailable")
        assert "ErrImageNeverPull" in degraded["message"]
        assert "gpt-sovits-k8s/server:absent" in degraded["message"]
        assert (
            "gpt-sovits-k8s/server:absent"
            in _event(cluster, voice_namespace, name, "ImageUnavailable")["message"]
        )
    finally:
        _delete(cluster, voice_namespace, name)


def test_a_corrupt_checkpoint_crash_loops_with_its_reason(
    cluster: Cluster,
    operator_pod: dict[str, Any],
    voice_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
    demo_models: Path,
) -> None:
    models = tmp_path_factory.mktemp("corrupt") / "demo"
    shutil.copytree(demo_models, models)
    checkpoint = models / "demo-gpt.ckpt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:4096])
    checkpoint.chmod(0o644)
    name = _name("corrupt")
    apply_voice(cluster, voice_namespace, name, node_voice_spec({"hostPath": {"path": str(models)}}))
    try:
        degraded = _degraded(cluster, voice_namespace, name, "CrashLoopBackOff")
        # The server's last line, carried as the pod's termination message.
        assert "exit code 1" in degraded["message"]
        assert "stopped after a failure: loading the model failed" in degraded["message"]
        assert "demo-gpt.ckpt" in degraded["message"]
        assert not _ready_pods(cluster, voice_namespace, name)
        _event(cluster, voice_namespace, name, "CrashLoopBackOff")
    finally:
        _delete(cluster, voice_namespace, name)


def _ready_pods(cluster: Cluster, namespace: str, name: str) -> list[str]:
    """Names of the VoiceService's pods whose Ready condition is True."""
    pods = get_json(cluster, "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={name}")["items"]
    return [pod["metadata"]["name"] for pod in pods if condition(pod, "Ready").get("status") == "True"]


def test_a_download_that_fails_its_checksum_is_named(
    cluster: Cluster,
    operator_pod: dict[str, Any],
    voice_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
    demo_models: Path,
) -> None:
    served = tmp_path_factory.mktemp("served-bad")
    model_archive(demo_models, served / "demo-model.tar.gz")
    node_ip = get_json(cluster, "node", NODE_NAME)["status"]["addresses"][0]["address"]
    name = _name("badsum")
    with file_server(served, node_ip) as base_url:
        wrong = "0" * 64
        source = {"http": {"url": f"{base_url}/demo-model.tar.gz", "sha256": wrong}}
        apply_voice(cluster, voice_namespace, name, node_voice_spec(source))
        try:
            degraded = _degraded(cluster, voice_namespace, name, "ModelFetchFailed")
            assert (
                f"sha256 mismatch for {base_url}/demo-model.tar.gz: expected {wrong}" in degraded["message"]
            )
            assert "container fetch-model" in degraded["message"]
            _event(cluster, voice_namespace, name, "ModelFetchFailed")
        finally:
            _delete(cluster, voice_namespace, name)


def test_gpu_pods_that_no_node_can_take_stay_pending_and_say_so(
    cluster: Cluster, operator_pod: dict[str, Any], voice_namespace: str, tmp_path: Path
) -> None:
    name = _name("nogpu")
    spec = node_voice_spec({"hostPath": {"path": str(tmp_path)}})
    # Off the real node (no GPUs) and more GPUs than any kwok node has.
    del spec["nodeSelector"], spec["tolerations"]
    spec["resources"]["gpu"] = 16
    apply_voice(cluster, voice_namespace, name, spec)
    try:
        degraded = _degraded(cluster, voice_namespace, name, "InsufficientGPU")
        assert "Insufficient nvidia.com/gpu" in degraded["message"]
        pods = get_json(cluster, "pods", "-n", voice_namespace, "-l", f"app.kubernetes.io/instance={name}")
        assert {pod["status"]["phase"] for pod in pods["items"]} == {"Pending"}
        _event(cluster, voice_namespace, name, "InsufficientGPU")
    finally:
        _delete(cluster, voice_namespace, name)


def test_a_model_folder_that_is_not_on_the_node_is_named(
    cluster: Cluster, operator_pod: dict[str, Any], voice_namespace: str
) -> None:
    name = _name("nofolder")
    apply_voice(
        cluster, voice_namespace, name, node_voice_spec({"hostPath": {"path": "/nonexistent-models"}})
    )
    try:
        degraded = _degraded(cluster, voice_namespace, name, "ModelFolderMissing")
        assert "/nonexistent-models" in degraded["message"]
        _event(cluster, voice_namespace, name, "ModelFolderMissing")
    finally:
        _delete(cluster, voice_namespace, name)
