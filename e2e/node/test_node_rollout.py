"""A spec change rolls the real pod over while requests keep arriving through the Service: none fails."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.demo_node import node_voice_spec
from e2e.node.node_support import (
    apply_voice,
    decode_wav,
    get_json,
    post_tts,
    ready_pod,
    service_url,
    wait_voice_ready,
)

pytestmark = pytest.mark.cluster

# Load and warm-up of the new pod on a 2-core machine, while the old one serves the load.
ROLLOUT_TIMEOUT_S = 420
# Bounded load: a few requests in flight at any time, at most this many in all.
MAX_REQUESTS = 2_000


class LoadLoop:
    """Sends TTS requests through one URL from a few threads until stopped; records each outcome."""

    def __init__(self, url: str, clients: int = 2) -> None:
        self.url = url
        self.outcomes: list[tuple[float, int, str]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)]

    def _run(self, client: int) -> None:
        sent = 0
        while not self._stop.is_set() and len(self.outcomes) < MAX_REQUESTS:
            sent += 1
            try:
                status, body, _ = post_tts(self.url, f"Rolling request {client} {sent}.", timeout_s=120)
                detail = "" if status == 200 else body[:200].decode("utf-8", "replace")
                if status == 200:
                    decode_wav(body)
            except Exception as err:  # a refused or reset connection is what this test looks for
                status, detail = 0, f"{type(err).__name__}: {err}"
            with self._lock:
                self.outcomes.append((time.monotonic(), status, detail))

    def __enter__(self) -> LoadLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=150)


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

    with LoadLoop(url) as load:
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

    statuses = [status for _, status, _ in load.outcomes]
    failures = [(status, detail) for _, status, detail in load.outcomes if status != 200]
    print(f"rollout took {rolled:.0f}s; {len(statuses)} requests through the Service during it")
    assert failures == [], failures[:5]
    during = [t for t, _, _ in load.outcomes if started <= t <= started + rolled]
    assert len(during) >= 5, "too few requests ran during the rollout to show anything"
    env = {e["name"]: e.get("value") for e in after["spec"]["containers"][0]["env"]}
    assert env.get("VOICE_SERVER_MAX_BATCH_SIZE") == "2"
    cluster.kubectl("delete", "vsvc", "rolling", "-n", voice_namespace, "--wait=true", "--timeout=120s")
