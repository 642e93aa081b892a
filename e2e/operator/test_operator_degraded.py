"""References the schema cannot check: a missing PVC or Secret ends in Degraded, with an Event."""

from __future__ import annotations

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

    # Once the claim exists the problem clears by itself.
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "absent"},
            "spec": {"accessModes": ["ReadOnlyMany"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    )
    wait_for(
        "Degraded=False", lambda: (kubectl.condition("nopvc", "Degraded") or {}).get("status") == "False"
    )
    assert operator.process.poll() is None  # no crash loop


def test_missing_api_key_secret_is_degraded(kubectl: Kubectl, operator: OperatorProcess) -> None:
    kubectl.apply(voiceservice("nokey", auth={"apiKeySecretRef": {"name": "missing-key"}}))
    cond = wait_for("Degraded=True", lambda: degraded(kubectl, "nokey"))
    assert cond["reason"] == "SecretMissing"
    assert "missing-key" in cond["message"]


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
