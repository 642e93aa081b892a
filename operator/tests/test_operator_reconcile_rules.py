"""Pure parts of a reconcile: REST paths of children and model-version support."""

from __future__ import annotations

import pytest

from voice_operator.kube import object_path
from voice_operator.reconcile import version_problems
from voice_operator.spec import parse_spec


@pytest.mark.parametrize(
    ("api_version", "kind", "name", "path"),
    [
        ("v1", "ConfigMap", "a", "/api/v1/namespaces/ns/configmaps/a"),
        ("v1", "PersistentVolumeClaim", "m", "/api/v1/namespaces/ns/persistentvolumeclaims/m"),
        ("apps/v1", "Deployment", "a", "/apis/apps/v1/namespaces/ns/deployments/a"),
        (
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "a",
            "/apis/autoscaling/v2/namespaces/ns/horizontalpodautoscalers/a",
        ),
        ("networking.k8s.io/v1", "Ingress", None, "/apis/networking.k8s.io/v1/namespaces/ns/ingresses"),
        (
            "networking.k8s.io/v1",
            "NetworkPolicy",
            "a",
            "/apis/networking.k8s.io/v1/namespaces/ns/networkpolicies/a",
        ),
        ("policy/v1", "PodDisruptionBudget", "a", "/apis/policy/v1/namespaces/ns/poddisruptionbudgets/a"),
        (
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            "a",
            "/apis/monitoring.coreos.com/v1/namespaces/ns/servicemonitors/a",
        ),
        (
            "voice.gpt-sovits.io/v1alpha1",
            "VoiceService",
            "a",
            "/apis/voice.gpt-sovits.io/v1alpha1/namespaces/ns/voiceservices/a",
        ),
    ],
)
def test_object_paths(api_version: str, kind: str, name: str | None, path: str) -> None:
    assert object_path(api_version, kind, "ns", name) == path


def _spec(version: str):
    return parse_spec(
        {"model": {"version": version, "gptWeights": "g", "sovitsWeights": "s", "source": {"image": {}}}}
    )


@pytest.mark.parametrize("version", ["v2", "v2Pro", "v2ProPlus"])
def test_served_versions(version: str) -> None:
    assert version_problems(_spec(version)) == []


@pytest.mark.parametrize("version", ["v1", "v3", "v4"])
def test_other_versions_are_reported(version: str) -> None:
    (problem,) = version_problems(_spec(version))
    assert problem.reason == "UnsupportedModelVersion"
    assert version in problem.message
