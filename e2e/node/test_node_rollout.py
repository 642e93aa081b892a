"""A spec change rolls the real pod over while requests keep arriving through the Service: none fails."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.demo_node import node_voice_spec
from e2e.load import LoadLoop
from e2e.node.node_support import (
    apply_voice,
    decode_wav,
    get_json,
    ready_pod,
    service_url,
    wait_voice_ready,
)

pytestmark = pytest.mark.cluster

# Load and warm-up of the new pod on a 2-core machine, while the old one serves the load.
ROLLOUT_TIMEOUT_S = 420


def _sentence(client: int, sent: int) -> str:
    return f"Rolling request {client} {sent}."


def test_a_spec_change_replaces_the_pod_with_no_failed_request(
    cluster: Cluster,
    operator_pod: dict[str, Any],
    voice_namespace: str,
    demo_models: Path,
) -> None:
    spec = node_voice_spec({"hostPath": {"path": str(demo_models)}})
    apply_voice(cluster, voice_namespace, "rolling", spec)
    wait_voice_ready(cluster, voice_namespace, "rolling")
    before = ready_pod(cluster, voice_namespace, "rolling")
    assert before is not None
    url = service_url(cluster, voice_namespace, "rolling")

    with LoadLoop(url, clients=2, text=_sentence, check=decode_wav) as load:
        time.sleep(3)
        started = time.monotonic()
        changed = {**spec, "inference": {**spec["inference"], "maxBatchSize": 2}}
        apply_voice(cluster, voice_namespace, "rolling", changed)

        def replaced() -> dict[str, Any] | None:
            pod = ready_pod(cluster, voice_namespace, "rolling")
            if pod is None or pod["metadata"]["name"] == before["metadata"]["name"]:
                return None
            body = get_json(cluster, "vsvc", "rolling", "-n", voice_namespace)
            return pod if body.get("status", {}).get("phase") == "Ready" else None

        deadline = time.monotonic() + ROLLOUT_TIMEOUT_S
        after = None
        while after is None and time.monotonic() < deadline:
            after = replaced()
            time.sleep(2)
        assert after is not None, "the rollout did not finish in time"
        rolled = time.monotonic() - started
        time.sleep(5)  # requests after the old pod is gone reach the new one

    print(f"rollout took {rolled:.0f}s; {len(load.outcomes)} requests through the Service during it")
    assert load.failures() == [], load.failures()[:5]
    during = [o for o in load.outcomes if started <= o.at <= started + rolled]
    assert len(during) >= 5, "too few requests ran during the rollout to show anything"
    env = {e["name"]: e.get("value") for e in after["spec"]["containers"][0]["env"]}
    assert env.get("VOICE_SERVER_MAX_BATCH_SIZE") == "2"
    cluster.kubectl("delete", "vsvc", "rolling", "-n", voice_namespace, "--wait=true", "--timeout=120s")
