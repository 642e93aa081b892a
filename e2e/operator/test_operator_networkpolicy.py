"""The server pods' NetworkPolicy on a real API server: created, changed, removed, collected."""

from __future__ import annotations

from typing import Any

import pytest
from vsvc_support import Kubectl, OperatorProcess, voiceservice, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def namespaces_of(policy: dict[str, Any]) -> list[list[str]]:
    """The namespace names each ingress rule admits, rule by rule."""
    return [
        peer["namespaceSelector"]["matchExpressions"][0]["values"]
        for rule in policy["spec"].get("ingress") or []
        for peer in rule["from"]
    ]


def test_networkpolicy_follows_the_spec_under_the_chart_rbac(
    kubectl: Kubectl, chart_rbac_operator: OperatorProcess
) -> None:
    own = kubectl.namespace
    spec = {
        "enabled": True,
        "allowFromNamespaces": [own, "gateway"],
        "allowMetricsFromNamespaces": ["monitoring"],
    }
    kubectl.apply(voiceservice("guarded", networkPolicy=spec))
    policy = wait_for("the NetworkPolicy", lambda: kubectl.get("networkpolicy", "guarded"))
    vs = kubectl.get("voiceservice", "guarded")
    assert vs is not None
    (owner,) = policy["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("VoiceService", vs["metadata"]["uid"], True)
    assert policy["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "gpt-sovits",
        "app.kubernetes.io/instance": "guarded",
    }
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert namespaces_of(policy) == [sorted([own, "gateway"]), ["monitoring"]]
    assert {port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]} == {"http"}
    # The selected pods are the server's: the port name is the one their container declares.
    dep = wait_for("the Deployment", lambda: kubectl.get("deployment", "guarded"))
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    assert [p["name"] for p in container["ports"]] == ["http"]

    kubectl.patch(
        "voiceservice", "guarded", {"spec": {"networkPolicy": {"allowFromNamespaces": ["gateway"]}}}
    )
    wait_for(
        "the narrowed policy",
        lambda: (
            namespaces_of(kubectl.get("networkpolicy", "guarded") or {"spec": {}})
            == [["gateway"], ["monitoring"]]
        ),
    )

    kubectl.patch("voiceservice", "guarded", {"spec": {"networkPolicy": {"enabled": False}}})
    wait_for("the NetworkPolicy to be deleted", lambda: kubectl.get("networkpolicy", "guarded") is None)

    kubectl.patch("voiceservice", "guarded", {"spec": {"networkPolicy": {"enabled": True}}})
    wait_for("the NetworkPolicy again", lambda: kubectl.get("networkpolicy", "guarded"))
    kubectl.run("delete", "voiceservice", "guarded", "--wait=true", "--timeout=60s")
    wait_for("garbage collection", lambda: kubectl.get("networkpolicy", "guarded") is None)
    assert "Forbidden" not in chart_rbac_operator.log()
