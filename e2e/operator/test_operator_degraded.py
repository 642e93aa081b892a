"""References the schema cannot check: a missing PVC or Secret ends in Degraded, with an Event."""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from vsvc_support import Kubectl, OperatorProcess, voiceservice, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def degraded(kubectl: Kubectl, name: str) -> dict | None:
    cond = kubectl.condition(name, "Degraded")
    return cond if cond is not None and cond["status"] == "True" else None


def test_missing_pvc_is_degraded_with_an_event(kubectl: Kubectl, operator: OperatorProcess) -> None:
    model = {
        "gptWeights": "g.ckpt",
        "sovitsWeights": "s.pth",
        "source": {"persistentVolumeClaim": {"claimName": "absent"}},
    }
    kubectl.apply(voiceservice("nopvc", model=model))
    cond = wait_for("Degraded=True", lambda: degraded(kubectl, "nopvc"))
    assert cond["reason"] == "PersistentVolumeClaimMissing"
    assert "PersistentVolumeClaim 'absent' does not exist" in cond["message"]
    status = kubectl.get("voiceservice", "nopvc")["status"]  # type: ignore[index]
    assert status["phase"] == "Degraded"
    event = wait_for(
        "a Warning event",
        lambda: [e for e in kubectl.events("nopvc") if e["reason"] == "PersistentVolumeClaimMissing"],
    )[0]
    assert event["type"] == "Warning"
    assert "absent" in event["message"]

    # Resyncs keep it Degraded but post no second event for the same problem.
    seen = operator.reconciles()
    wait_for("two more reconciles", lambda: operator.reconciles() >= seen + 2)
    same = [e for e in kubectl.events("nopvc") if e["reason"] == "PersistentVolumeClaimMissing"]
    assert sum(int(e.get("count") or 1) for e in same) == 1

    # Once the claim exists (bound to a volume, or its pods stay unschedulable, which status
    # would report in turn) the problem clears by itself.
    volume = f"pv-{kubectl.namespace}"
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": volume},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadOnlyMany"],
                "storageClassName": "",
                "hostPath": {"path": "/nonexistent-models"},
                "claimRef": {"namespace": kubectl.namespace, "name": "absent"},
            },
        }
    )
    try:
        kubectl.apply(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "absent"},
                "spec": {
                    "accessModes": ["ReadOnlyMany"],
                    "storageClassName": "",
                    "volumeName": volume,
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        )
        wait_for(
            "Degraded=False", lambda: (kubectl.condition("nopvc", "Degraded") or {}).get("status") == "False"
        )
    finally:
        kubectl.run("delete", "voiceservice", "nopvc", "--wait=true", check=False)
        kubectl.run("delete", "pvc", "absent", "--wait=false", check=False)
        kubectl.run("delete", "pv", volume, "--wait=false", check=False)
    assert operator.process.poll() is None  # no crash loop


@pytest.fixture
def node_without_kubelet(cluster: Any) -> Iterator[str]:
    """A Node that no kubelet serves (kwok manages only the nodes it annotates), tainted for this test.

    Pods scheduled there stay Pending, as on a node whose kubelet cannot mount their volumes; the
    test then writes what that kubelet would.
    """
    name = f"no-kubelet-{secrets.token_hex(3)}"
    resources = {"cpu": "2", "memory": "4Gi", "pods": "10"}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"taints": [{"key": "e2e.gpt-sovits.io/no-kubelet", "effect": "NoSchedule"}]},
        "status": {"capacity": resources, "allocatable": resources},
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(node))
    try:
        yield name
    finally:
        cluster.kubectl("delete", "node", name, "--ignore-not-found", "--wait=false", check=False)


def _failed_mount(pod: dict[str, Any], node: str, message: str) -> dict[str, Any]:
    """The Event a kubelet posts when a pod's volume cannot be mounted."""
    meta = pod["metadata"]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.failed-mount"},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "namespace": meta["namespace"],
            "name": meta["name"],
            "uid": meta["uid"],
        },
        "reason": "FailedMount",
        "type": "Warning",
        "message": message,
        "source": {"component": "kubelet", "host": node},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def test_missing_api_key_secret_is_named_without_reading_secrets(
    kubectl: Kubectl, chart_rbac_operator: OperatorProcess, node_without_kubelet: str
) -> None:
    """Under the chart's RBAC, which grants nothing on Secrets, the kubelet's report names the Secret."""
    node = node_without_kubelet
    kubectl.apply(
        voiceservice(
            "nokey",
            auth={"apiKeySecretRef": {"name": "missing-key"}},
            nodeSelector={"kubernetes.io/hostname": node},
            tolerations=[{"operator": "Exists"}],
        )
    )
    selector = "app.kubernetes.io/instance=nokey"

    def bound_pod() -> dict[str, Any] | None:
        pods = json.loads(kubectl.run("get", "pods", "-l", selector, "-o", "json").stdout)["items"]
        return next((p for p in pods if p["spec"].get("nodeName") == node), None)

    pod = wait_for("the pod on the node without kubelet", bound_pod)
    name = pod["metadata"]["name"]
    message = 'MountVolume.SetUp failed for volume "api-key" : secret "missing-key" not found'
    kubectl.create(_failed_mount(pod, node, message))
    cond = wait_for("Degraded=True", lambda: degraded(kubectl, "nokey"))
    assert cond["reason"] == "SecretMissing"
    assert cond["message"].startswith(f"Secret 'missing-key' does not exist (pod {name}: MountVolume.SetUp")
    event = wait_for(
        "a Warning event", lambda: [e for e in kubectl.events("nokey") if e["reason"] == "SecretMissing"]
    )[0]
    assert "missing-key" in event["message"]

    # The Secret is created; the kubelet mounts it and the server starts.
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "missing-key"},
            "stringData": {"api-key": "k"},
        }
    )
    running = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "server",
                "image": "x",
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
            }
        ],
    }
    kubectl.run(
        "patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps({"status": running})
    )
    wait_for(
        "Degraded=False", lambda: (kubectl.condition("nokey", "Degraded") or {}).get("status") == "False"
    )
    assert chart_rbac_operator.process.poll() is None
    assert "Forbidden" not in chart_rbac_operator.log()


def test_a_checksum_of_a_file_not_fetched_is_an_invalid_spec(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    hub = {
        "repo": "o/v",
        "revision": "0123456789abcdef0123456789abcdef01234567",
        "files": ["g.ckpt", "s.pth"],
        "sha256": {"voices/s.pth": "a" * 64},
    }
    model = {"gptWeights": "g.ckpt", "sovitsWeights": "s.pth", "source": {"huggingFace": hub}}
    kubectl.apply(voiceservice("stray", model=model))
    cond = wait_for("Degraded=True", lambda: degraded(kubectl, "stray"))
    assert cond["reason"] == "InvalidSpec"
    assert "sha256 lists 'voices/s.pth', which is not a file" in cond["message"]
    event = wait_for(
        "a Warning event", lambda: [e for e in kubectl.events("stray") if e["reason"] == "InvalidSpec"]
    )[0]
    assert "voices/s.pth" in event["message"]
    assert kubectl.get("deployment", "stray") is None  # nothing is built from a spec it cannot use
