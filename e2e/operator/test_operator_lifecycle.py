"""A VoiceService on a real API server: children, status, scale, updates, drift, deletion."""

from __future__ import annotations

import json
from typing import Any

import pytest
from vsvc_support import Kubectl, OperatorProcess, voiceservice, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


def ready(kubectl: Kubectl, name: str) -> bool:
    cond = kubectl.condition(name, "Ready")
    return cond is not None and cond["status"] == "True"


def test_apply_creates_children_and_reports_status(kubectl: Kubectl, operator: OperatorProcess) -> None:
    spec = voiceservice(
        "narrator",
        resources={"gpu": 1, "requests": {"cpu": "100m", "memory": "128Mi"}},
        speakers=[{"id": "narrator", "refAudio": "ref/n.wav", "promptText": "你好", "promptLanguage": "zh"}],
        inference={"maxBatchSize": 16},
    )
    kubectl.apply(spec)
    vs = kubectl.get("voiceservice", "narrator")
    assert vs is not None
    # The API server applied the CRD's defaults.
    assert vs["spec"]["autoscaling"]["targetCPUUtilization"] == 70
    assert vs["spec"]["inference"]["precision"] == "auto"

    dep = wait_for("the Deployment", lambda: kubectl.get("deployment", "narrator"))
    owner = dep["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("VoiceService", "narrator", vs["metadata"]["uid"])
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = env_of(dep)
    assert env["VOICE_SERVER_MAX_BATCH_SIZE"] == "16"
    assert env["VOICE_SERVER_DEVICE"] == "cuda"
    shown = json.loads(
        kubectl.run("get", "deployment", "narrator", "-o", "json", "--show-managed-fields").stdout
    )
    managers = {entry["manager"] for entry in shown["metadata"]["managedFields"]}
    assert "gpt-sovits-operator" in managers  # written by server-side apply

    svc = kubectl.get("service", "narrator")
    assert svc is not None
    assert svc["spec"]["ports"][0]["port"] == 8000
    cm = kubectl.get("configmap", "narrator-config")
    assert cm is not None
    assert "refAudio: ref/n.wav" in cm["data"]["speakers.yaml"]
    assert kubectl.get("hpa", "narrator") is None  # autoscaling is off by default

    # kwok marks the pod Running and Ready on a GPU node: the service becomes Ready.
    wait_for("Ready=True", lambda: ready(kubectl, "narrator"))
    status = kubectl.get("voiceservice", "narrator")["status"]  # type: ignore[index]
    assert status["phase"] == "Ready"
    assert status["observedGeneration"] == vs["metadata"]["generation"]
    assert (status["replicas"], status["readyReplicas"]) == (1, 1)
    assert status["endpoint"] == f"http://narrator.{kubectl.namespace}.svc:8000"
    assert status["selector"] == "app.kubernetes.io/instance=narrator,app.kubernetes.io/name=gpt-sovits"
    kinds = {cond["type"]: cond["status"] for cond in status["conditions"]}
    assert kinds == {"Ready": "True", "Progressing": "False", "Degraded": "False"}

    # The printer columns show readiness, replicas and the endpoint at a glance.
    table = kubectl.run("get", "vsvc", "narrator").stdout
    header, row = table.splitlines()[:2]
    assert header.split()[:5] == ["NAME", "READY", "PHASE", "REPLICAS", "ENDPOINT"]
    assert row.split()[:5] == ["narrator", "True", "Ready", "1", status["endpoint"]]
    assert "voice_operator_reconciles_total" in operator.metrics()
    # Routine reconciles (every few seconds here) post no Events; only problems do.
    own = [e["reason"] for e in kubectl.events("narrator") if e["involvedObject"]["kind"] == "VoiceService"]
    assert own == []


def test_scale_subresource(kubectl: Kubectl, operator: OperatorProcess) -> None:
    kubectl.apply(voiceservice("scaler"))
    wait_for("the Deployment", lambda: kubectl.get("deployment", "scaler"))
    kubectl.run("scale", "vsvc/scaler", "--replicas=3")
    assert kubectl.get("voiceservice", "scaler")["spec"]["replicas"] == 3  # type: ignore[index]
    wait_for(
        "3 replicas in the Deployment",
        lambda: (kubectl.get("deployment", "scaler") or {}).get("spec", {}).get("replicas") == 3,
    )
    wait_for(
        "status.replicas == 3",
        lambda: (kubectl.get("voiceservice", "scaler") or {}).get("status", {}).get("readyReplicas") == 3,
    )
    scale = json.loads(kubectl.run("get", "--raw", _scale_path(kubectl.namespace, "scaler")).stdout)
    assert scale["spec"]["replicas"] == 3
    assert scale["status"]["replicas"] == 3
    assert (
        scale["status"]["selector"] == "app.kubernetes.io/instance=scaler,app.kubernetes.io/name=gpt-sovits"
    )


def _scale_path(namespace: str, name: str) -> str:
    return f"/apis/voice.gpt-sovits.io/v1alpha1/namespaces/{namespace}/voiceservices/{name}/scale"


def test_updates_propagate(kubectl: Kubectl, operator: OperatorProcess) -> None:
    kubectl.apply(voiceservice("updates"))
    wait_for("the Deployment", lambda: kubectl.get("deployment", "updates"))

    kubectl.patch("voiceservice", "updates", {"spec": {"inference": {"maxBatchSize": 4}}})
    wait_for(
        "the new batch size in the Deployment",
        lambda: (
            env_of(
                kubectl.get("deployment", "updates") or {"spec": {"template": {"spec": {"containers": [{}]}}}}
            ).get("VOICE_SERVER_MAX_BATCH_SIZE")
            == "4"
        ),
    )

    kubectl.patch("voiceservice", "updates", {"spec": {"speakers": [{"id": "new", "refAudio": "new.wav"}]}})
    wait_for(
        "the new speaker in the ConfigMap",
        lambda: (
            "id: new"
            in ((kubectl.get("configmap", "updates-config") or {}).get("data") or {}).get("speakers.yaml", "")
        ),
    )

    autoscale = {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}}
    ingress = {
        "ingress": {"enabled": True, "host": "updates.example.com", "rateLimit": {"requestsPerSecond": 9}}
    }
    kubectl.patch(
        "voiceservice",
        "updates",
        {"spec": {**autoscale, **ingress, "podDisruptionBudget": {"enabled": True}}},
    )
    hpa = wait_for("the HPA", lambda: kubectl.get("hpa", "updates"))
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert [m["type"] for m in hpa["spec"]["metrics"]] == ["Resource", "Pods"]
    ing = wait_for("the Ingress", lambda: kubectl.get("ingress", "updates"))
    assert ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rps"] == "9"
    wait_for("the PDB", lambda: kubectl.get("pdb", "updates"))
    wait_for(
        "the endpoint to follow the Ingress",
        lambda: (
            (kubectl.get("voiceservice", "updates") or {}).get("status", {}).get("endpoint")
            == "http://updates.example.com"
        ),
    )

    kubectl.patch(
        "voiceservice",
        "updates",
        {
            "spec": {
                "autoscaling": {"enabled": False},
                "ingress": {"enabled": False},
                "podDisruptionBudget": {"enabled": False},
            }
        },
    )
    wait_for("the HPA to go", lambda: kubectl.get("hpa", "updates") is None)
    wait_for("the Ingress to go", lambda: kubectl.get("ingress", "updates") is None)
    wait_for("the PDB to go", lambda: kubectl.get("pdb", "updates") is None)


def test_drift_is_repaired(kubectl: Kubectl, operator: OperatorProcess) -> None:
    kubectl.apply(voiceservice("drift", replicas=1))
    first = wait_for("the Deployment", lambda: kubectl.get("deployment", "drift"))

    # Someone edits a field the operator owns: it is put back.
    kubectl.patch("deployment", "drift", {"spec": {"replicas": 4}})
    wait_for(
        "replicas back to 1", lambda: (kubectl.get("deployment", "drift") or {})["spec"]["replicas"] == 1
    )

    # Someone deletes the Deployment: it comes back (a new object).
    kubectl.run("delete", "deployment", "drift", "--wait=true")
    again = wait_for(
        "a new Deployment",
        lambda: (
            (d := kubectl.get("deployment", "drift"))
            and d["metadata"]["uid"] != first["metadata"]["uid"]
            and d
        ),
    )
    assert again["spec"]["replicas"] == 1

    # Deleting the Service or ConfigMap is repaired on the next resync.
    kubectl.run("delete", "service", "drift", "--wait=true")
    wait_for("the Service back", lambda: kubectl.get("service", "drift"))


def test_deleting_the_voiceservice_removes_its_children(kubectl: Kubectl, operator: OperatorProcess) -> None:
    kubectl.apply(voiceservice("doomed", autoscaling={"enabled": True}))
    wait_for("the HPA", lambda: kubectl.get("hpa", "doomed"))
    wait_for("the Deployment", lambda: kubectl.get("deployment", "doomed"))
    kubectl.run("delete", "voiceservice", "doomed", "--wait=true", "--timeout=60s")
    for kind, name in [
        ("deployment", "doomed"),
        ("service", "doomed"),
        ("configmap", "doomed-config"),
        ("hpa", "doomed"),
    ]:
        wait_for(f"{kind}/{name} to be garbage-collected", lambda k=kind, n=name: kubectl.get(k, n) is None)


SERVICEMONITOR_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {"kind": "ServiceMonitor", "plural": "servicemonitors", "singular": "servicemonitor"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                        },
                    }
                },
            }
        ],
    },
}


def test_servicemonitor_once_its_crd_exists(kubectl: Kubectl, operator: OperatorProcess) -> None:
    # Without the Prometheus Operator's CRD the request is skipped, not an error.
    kubectl.apply(voiceservice("watched", monitoring={"enabled": True, "interval": "15s"}))
    wait_for("Ready=True", lambda: ready(kubectl, "watched"))
    # Create a minimal CRD only where none exists: a real one (e.g. installed by another test) stays.
    kubectl.cluster.kubectl("create", "-f", "-", input=json.dumps(SERVICEMONITOR_CRD), check=False)
    kubectl.cluster.kubectl(
        "wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com", "--timeout=60s"
    )
    monitor = wait_for(
        "the ServiceMonitor", lambda: kubectl.get("servicemonitors.monitoring.coreos.com", "watched")
    )
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s"}]
    kubectl.patch("voiceservice", "watched", {"spec": {"monitoring": {"enabled": False}}})
    wait_for(
        "the ServiceMonitor to go",
        lambda: kubectl.get("servicemonitors.monitoring.coreos.com", "watched") is None,
    )
