"""The only module with kopf handlers; each body delegates to :mod:`voice_operator.reconcile`.

Handlers are registered by :func:`register` rather than at import, because the resync interval
is a setting known only once the operator starts.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
from collections.abc import Mapping
from typing import Any, cast

import kopf

from voice_operator import constants as c
from voice_operator import metrics
from voice_operator.kube import Kube, in_cluster_server, load_api_client
from voice_operator.reconcile import Outcome, reconcile
from voice_operator.settings import OperatorSettings


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bounded_backoff(ceiling_s: float) -> list[float]:
    """Doubling delays from 1 s, capped at ``ceiling_s``: no retry storm, no endless sleep."""
    delays: list[float] = []
    delay = 1.0
    while delay < ceiling_s:
        delays.append(delay)
        delay *= 2
    delays.append(ceiling_s)
    return delays


def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Startup: apply our settings to kopf's (watch timeouts, backoff, events); open the API client."""
    ours: OperatorSettings = memo.settings
    # A watch that silently stops delivering is renewed by these timeouts (server, then client side).
    settings.watching.server_timeout = ours.watch_server_timeout_s
    settings.watching.client_timeout = ours.watch_client_timeout_s
    # An unreachable API server fails the connection attempt instead of hanging it.
    settings.watching.connect_timeout = 30
    # Other requests (patches, events) may reuse a pooled connection that silently died.
    settings.networking.request_timeout = ours.api_timeout_s
    settings.networking.connect_timeout = min(ours.api_timeout_s, 30.0)
    settings.batching.error_delays = _bounded_backoff(ours.backoff_max_s)
    settings.networking.error_backoffs = _bounded_backoff(min(ours.backoff_max_s, 60.0))
    # Warnings and errors become Events; INFO ("handler succeeded", every resync) would flood them.
    settings.posting.level = logging.WARNING
    settings.persistence.finalizer = f"{c.GROUP}/finalizer"
    memo.announcements = Announcements()
    if getattr(memo, "kube", None) is None:
        memo.kube = Kube(load_api_client(), timeout_s=ours.api_timeout_s)
    metrics.serve(ours.metrics_port)


def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """Credentials: the pod's service account when in a cluster, else the kubeconfig."""
    account = kopf.login_with_service_account(**kwargs)
    if account is None:
        return kopf.login_with_kubeconfig(**kwargs)
    # kopf addresses the API server as kubernetes.default.svc, which only resolves where the
    # cluster runs a DNS; the injected service address works everywhere, as for client-go.
    server = in_cluster_server()
    return dataclasses.replace(account, server=server) if server else account


class Announcements:
    """The Degraded reason last announced per VoiceService uid, so each problem is posted once.

    Two handlers (the VoiceService's and its Deployment's) may reconcile the same object at the
    same moment, both before either status write lands; the status alone cannot deduplicate them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reasons: dict[str, str] = {}

    def should_post(self, uid: str, event: Mapping[str, Any] | None, status: Mapping[str, Any]) -> bool:
        """Record the current Degraded reason; True when ``event`` is one not posted yet."""
        reason = _degraded_reason(status)
        with self._lock:
            last = self._reasons.pop(uid, None)
            if reason is not None:
                self._reasons[uid] = reason
        return event is not None and last != reason


def _degraded_reason(status: Mapping[str, Any]) -> str | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == c.COND_DEGRADED and condition.get("status") == "True":
            return str(condition.get("reason"))
    return None


def _run(trigger: str, body: Mapping[str, Any], memo: kopf.Memo, logger: logging.Logger | Any) -> Outcome:
    """Reconcile ``body``, count it, and post an Event when it newly became Degraded."""
    ours: OperatorSettings = memo.settings
    with metrics.observe(trigger) as record:
        outcome = reconcile(memo.kube, body, default_image=ours.default_image, now=_now())
        announcements: Announcements = memo.announcements
        if announcements.should_post(str(body["metadata"]["uid"]), outcome.event, outcome.status):
            assert outcome.event is not None
            record.result = "degraded"
            kopf.warn(
                cast(kopf.Body, body),
                reason=str(outcome.event["reason"]),
                message=str(outcome.event["message"]),
            )
        logger.debug(f"reconciled ({trigger}): phase {outcome.status['phase']}")
    return outcome


def voiceservice_changed(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Created, updated or found at startup: apply the children and write the status."""
    patch.status.update(_run("change", body, memo, logger).status)


def voiceservice_resync(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Periodic: repair drift and refresh the status, even when no event arrives."""
    patch.status.update(_run("resync", body, memo, logger).status)


def deployment_event(body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """A child Deployment changed or vanished: reconcile its VoiceService at once."""
    owners = [
        ref for ref in body.get("metadata", {}).get("ownerReferences") or [] if ref.get("kind") == c.KIND
    ]
    if not owners:
        return
    namespace = body["metadata"]["namespace"]
    kube: Kube = memo.kube
    parent = kube.get_voiceservice(namespace, owners[0]["name"])
    if (
        parent is None
        or parent["metadata"].get("deletionTimestamp")
        or parent["metadata"]["uid"] != owners[0]["uid"]
    ):
        return  # being deleted, or a stale child: the garbage collector takes care of it
    outcome = _run("deployment", parent, memo, logger)
    kube.patch_status(namespace, parent["metadata"]["name"], outcome.status)


def register(settings: OperatorSettings, registry: kopf.OperatorRegistry) -> None:
    """Register every handler with ``registry``."""
    resource = (c.GROUP, c.VERSION, c.PLURAL)
    kopf.on.startup(registry=registry)(configure)
    # A registry of our own has none of kopf's default login handlers.
    kopf.on.login(registry=registry)(login)
    kopf.on.resume(*resource, registry=registry, id="reconcile-resume")(voiceservice_changed)
    kopf.on.create(*resource, registry=registry, id="reconcile-create")(voiceservice_changed)
    kopf.on.update(*resource, registry=registry, id="reconcile-update")(voiceservice_changed)
    kopf.timer(
        *resource,
        registry=registry,
        id="resync",
        interval=settings.resync_interval_s,
        initial_delay=settings.resync_interval_s,
    )(voiceservice_resync)
    kopf.on.event(
        "apps",
        "v1",
        "deployments",
        registry=registry,
        id="child-deployment",
        labels={c.LABEL_MANAGED_BY: c.MANAGED_BY},
    )(deployment_event)
