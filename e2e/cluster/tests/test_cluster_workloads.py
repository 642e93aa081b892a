"""The cluster is real: Deployments roll out onto kwok nodes, GPUs are scheduled, GC collects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.cluster.manifests import KWOK_ANNOTATION
from e2e.cluster.processes import wait_for

pytestmark = pytest.mark.cluster

_TIMEOUT_S = 120.0


def _get(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def _apply(cluster: Cluster, namespace: str, obj: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(obj))


def _deployment(name: str, replicas: int, resources: dict[str, Any] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "registry.invalid/app:1"}
    if resources:
        container["resources"] = resources
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
        },
    }


def _pod(name: str, gpus: int) -> dict[str, Any]:
    limits = {"nvidia.com/gpu": str(gpus)}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {"name": "app", "image": "registry.invalid/app:1", "resources": {"limits": limits}}
            ]
        },
    }


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond["type"] == kind:
            return dict(cond)
    return {}


def test_deployment_becomes_available_on_kwok_nodes(cluster: Cluster, namespace: str) -> None:
    _apply(cluster, namespace, _deployment("web", 3))

    def available() -> bool:
        dep = _get(cluster, "deployment", "web", "-n", namespace)
        return (
            _condition(dep, "Available").get("status") == "True" and dep["status"].get("readyReplicas") == 3
        )

    wait_for("deployment web Available with 3 ready replicas", available, _TIMEOUT_S)
    pods = _get(cluster, "pods", "-n", namespace, "-l", "app=web")["items"]
    assert len(pods) == 3
    kwok_nodes = {
        n["metadata"]["name"]
        for n in _get(cluster, "nodes")["items"]
        if n["metadata"].get("annotations", {}).get(KWOK_ANNOTATION) == "fake"
    }
    for pod in pods:
        assert pod["spec"]["nodeName"] in kwok_nodes
        assert pod["status"]["phase"] == "Running"
        assert pod["status"].get("podIP")
        # A real controller chain made it: Pod <- ReplicaSet <- Deployment.
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"


def test_gpu_pods_fit_only_where_gpus_are_free(cluster: Cluster, namespace: str) -> None:
    _apply(cluster, namespace, _pod("two-gpus", 2))
    _apply(cluster, namespace, _pod("one-gpu", 1))

    def one_gpu_running() -> bool:
        return bool(_get(cluster, "pod", "one-gpu", "-n", namespace)["status"].get("phase") == "Running")

    def two_gpus_unschedulable() -> bool:
        pod = _get(cluster, "pod", "two-gpus", "-n", namespace)
        return _condition(pod, "PodScheduled").get("reason") == "Unschedulable"

    wait_for("one-gpu pod Running", one_gpu_running, _TIMEOUT_S)
    wait_for("two-gpus pod marked Unschedulable", two_gpus_unschedulable, _TIMEOUT_S)
    one = _get(cluster, "pod", "one-gpu", "-n", namespace)
    node = _get(cluster, "node", one["spec"]["nodeName"])
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    two = _get(cluster, "pod", "two-gpus", "-n", namespace)
    assert two["status"]["phase"] == "Pending"
    assert not two["spec"].get("nodeName")
    assert "nvidia.com/gpu" in _condition(two, "PodScheduled").get("message", "")


def test_deleting_an_owner_garbage_collects_its_dependents(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "configmap", "owner", "-n", namespace)
    owner_uid = _get(cluster, "configmap", "owner", "-n", namespace)["metadata"]["uid"]
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner_uid}
    for name in ("child-a", "child-b"):
        child = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "ownerReferences": [ref]},
        }
        _apply(cluster, namespace, child)
    _apply(cluster, namespace, _deployment("gc", 2))
    wait_for(
        "gc pods exist",
        lambda: len(_get(cluster, "pods", "-n", namespace, "-l", "app=gc")["items"]) == 2,
        _TIMEOUT_S,
    )

    # Background propagation: the API deletes only the owner; the garbage collector does the rest.
    cluster.kubectl("delete", "configmap", "owner", "-n", namespace, "--cascade=background")
    cluster.kubectl("delete", "deployment", "gc", "-n", namespace, "--cascade=background")

    def children_gone() -> bool:
        names = {c["metadata"]["name"] for c in _get(cluster, "configmaps", "-n", namespace)["items"]}
        return not names & {"child-a", "child-b"}

    def workload_gone() -> bool:
        rs = _get(cluster, "replicasets", "-n", namespace, "-l", "app=gc")["items"]
        pods = _get(cluster, "pods", "-n", namespace, "-l", "app=gc")["items"]
        return not rs and not pods

    wait_for("owned ConfigMaps collected", children_gone, _TIMEOUT_S)
    wait_for("ReplicaSet and Pods of the deleted Deployment collected", workload_gone, _TIMEOUT_S)
