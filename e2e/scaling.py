"""What a VoiceService's autoscaler sees and does, read through the API as a user would.

One :class:`ScaleView` per poll: the HPA's desired and current replicas and metric values, each
pod's requests per second from ``custom.metrics.k8s.io`` and its readiness. A
:class:`ScaleTimeline` turns a series of views into the times a platform team asks about (load
start → HPA decision → new pod Ready → load spread; load stop → scale-in). Used by the autoscaling
test on the real node and by ``make demo DEMO_ARGS=--autoscale``.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes.utils import parse_quantity

from e2e.cluster import Cluster

CUSTOM_METRICS = "/apis/custom.metrics.k8s.io/v1beta2"
RPS_METRIC = "gsv_requests_per_second"


def _get(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def pods_metric(
    cluster: Cluster, namespace: str, selector: str, metric: str = RPS_METRIC
) -> dict[str, float]:
    """Each selected pod's value of a Pods metric, from the custom metrics API ({} while none has one).

    The label selector is the one the HPA uses (the voice's pods): without it the API answers for
    every pod of the namespace that has the series, other voices' pods included.
    """
    query = urllib.parse.urlencode({"labelSelector": selector})
    path = f"{CUSTOM_METRICS}/namespaces/{namespace}/pods/*/{metric}?{query}"
    result = cluster.kubectl("get", "--raw", path, check=False)
    if result.returncode != 0:
        return {}
    items = json.loads(result.stdout).get("items") or []
    return {item["describedObject"]["name"]: float(parse_quantity(item["value"])) for item in items}


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    """One status condition of an object ({} when absent)."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


@dataclass(frozen=True)
class ScaleView:
    """One look at a voice's autoscaling, at monotonic time ``at``."""

    at: float
    desired: int
    current: int
    ready_pods: tuple[str, ...]
    pods: tuple[str, ...]
    per_pod_rps: dict[str, float]
    hpa_rps: float | None
    hpa_cpu: int | None
    scaling_active: dict[str, Any]

    @property
    def total_rps(self) -> float:
        return sum(self.per_pod_rps.values())

    def line(self) -> str:
        """One printable line: the per-pod rates, what the HPA wants, and which pods are Ready."""
        rates = (
            ", ".join(f"{pod[-5:]} {rps:.2f}" for pod, rps in sorted(self.per_pod_rps.items())) or "none yet"
        )
        cpu = "?" if self.hpa_cpu is None else f"{self.hpa_cpu}%"
        return (
            f"rps per pod [{rates}]  HPA desired {self.desired} (current {self.current}, cpu {cpu})  "
            f"pods Ready {len(self.ready_pods)}/{len(self.pods)}"
        )


def hpa_metric_values(hpa: dict[str, Any]) -> tuple[float | None, int | None]:
    """The HPA's current Pods metric average and CPU utilisation (None where it has none)."""
    rps: float | None = None
    cpu: int | None = None
    for metric in (hpa.get("status") or {}).get("currentMetrics") or []:
        if metric.get("type") == "Pods":
            value = ((metric.get("pods") or {}).get("current") or {}).get("averageValue")
            rps = None if value is None else float(parse_quantity(value))
        elif metric.get("type") == "Resource" and (metric.get("resource") or {}).get("name") == "cpu":
            cpu = (metric["resource"].get("current") or {}).get("averageUtilization")
    return rps, cpu


def live_pods(cluster: Cluster, namespace: str, voice: str) -> list[dict[str, Any]]:
    """The voice's pods that are not being deleted."""
    pods = _get(cluster, "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={voice}")["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def look(cluster: Cluster, namespace: str, voice: str) -> ScaleView:
    """The HPA (named as the voice), the voice's pods and their custom-metric rates, now."""
    hpa = _get(cluster, "hpa", voice, "-n", namespace)
    status = hpa.get("status") or {}
    live = live_pods(cluster, namespace, voice)
    ready = [p["metadata"]["name"] for p in live if condition(p, "Ready").get("status") == "True"]
    rps, cpu = hpa_metric_values(hpa)
    return ScaleView(
        at=time.monotonic(),
        desired=int(status.get("desiredReplicas") or 0),
        current=int(status.get("currentReplicas") or 0),
        ready_pods=tuple(sorted(ready)),
        pods=tuple(sorted(p["metadata"]["name"] for p in live)),
        per_pod_rps=pods_metric(cluster, namespace, f"app.kubernetes.io/instance={voice}"),
        hpa_rps=rps,
        hpa_cpu=cpu,
        scaling_active=condition(hpa, "ScalingActive"),
    )


def rescale_reasons(cluster: Cluster, namespace: str, hpa: str) -> list[str]:
    """The messages of the HPA's SuccessfulRescale events, oldest first ("New size: 2; reason: ...")."""
    selector = (
        f"involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name={hpa},reason=SuccessfulRescale"
    )
    events = _get(cluster, "events", "-n", namespace, "--field-selector", selector)["items"]
    events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return [str(e.get("message", "")) for e in events]


@dataclass
class ScaleTimeline:
    """Times (seconds after the load started) of each step of one scale-out and scale-in."""

    load_started: float
    from_replicas: int
    decided: float | None = None
    new_pod_ready: float | None = None
    spread: float | None = None
    load_stopped: float | None = None
    scaled_in: float | None = None
    peak_rps: float = 0.0
    peak_cpu: int = 0
    max_replicas: int = 0
    first_pods: frozenset[str] = field(default_factory=frozenset)

    def observe(self, view: ScaleView) -> None:
        """Record what ``view`` shows that had not happened before."""
        t = view.at - self.load_started
        self.peak_rps = max(self.peak_rps, view.total_rps)
        self.peak_cpu = max(self.peak_cpu, view.hpa_cpu or 0)
        self.max_replicas = max(self.max_replicas, len(view.ready_pods))
        new_ready = [pod for pod in view.ready_pods if pod not in self.first_pods]
        if self.decided is None and view.desired > self.from_replicas:
            self.decided = t
        if self.new_pod_ready is None and new_ready:
            self.new_pod_ready = t
        if self.spread is None and any(view.per_pod_rps.get(pod, 0.0) > 0 for pod in new_ready):
            self.spread = t
        if (
            self.load_stopped is not None
            and self.scaled_in is None
            and self.max_replicas > self.from_replicas
            and view.current <= self.from_replicas
            and len(view.pods) <= self.from_replicas
        ):
            self.scaled_in = t

    def stop_load(self, at: float) -> None:
        self.load_stopped = at - self.load_started

    def summary(self) -> str:
        """The one line a user keeps: peak rps, max replicas, time to scale out and to scale in."""

        def secs(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f}s"

        scale_in = None
        if self.scaled_in is not None and self.load_stopped is not None:
            scale_in = self.scaled_in - self.load_stopped
        return (
            f"peak {self.peak_rps:.1f} rps, max {self.max_replicas} Ready pods; scale-out: HPA decision "
            f"{secs(self.decided)}, new pod Ready {secs(self.new_pod_ready)}, load spread "
            f"{secs(self.spread)} after the load started; scale-in {secs(scale_in)} after it stopped"
        )


class ScaleWatch:
    """Looks at one voice's autoscaling every ``poll_s``, feeding a timeline and telling each view."""

    def __init__(
        self, cluster: Cluster, namespace: str, voice: str, say: Callable[[str], None], poll_s: float = 2.0
    ) -> None:
        self.cluster, self.namespace, self.voice = cluster, namespace, voice
        self._say, self._poll_s = say, poll_s
        self.timeline = ScaleTimeline(time.monotonic(), from_replicas=1)
        self.restart()

    def until(self, done: Callable[[ScaleView], bool], what: str, timeout_s: float) -> ScaleView:
        """Look until ``done(view)``; TimeoutError naming ``what`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            view = look(self.cluster, self.namespace, self.voice)
            self.timeline.observe(view)
            self._say(f"{view.at - self.timeline.load_started:6.1f}s  {view.line()}")
            if done(view):
                return view
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
            time.sleep(self._poll_s)

    def restart(self) -> None:
        """Count times from now (the load starts) with the pods that run now as the first ones."""
        first = look(self.cluster, self.namespace, self.voice)
        self.timeline = ScaleTimeline(time.monotonic(), from_replicas=1, first_pods=frozenset(first.pods))

    def wait_idle(self, target_cpu: int, timeout_s: float) -> ScaleView:
        """Until the HPA reads one pod below ``target_cpu``: the start's own CPU (model load) has passed.

        A pod's first CPU samples include its model load; before the load starts the HPA must read
        one taken after it (the controller-manager's CPU initialization period makes it skip the
        earlier ones), or a scale-out could be the start's doing rather than the load's.
        """

        def calm(view: ScaleView) -> bool:
            one = view.current == 1 and len(view.pods) == 1
            return one and view.hpa_cpu is not None and view.hpa_cpu < target_cpu

        return self.until(calm, "one idle pod before the load", timeout_s)
