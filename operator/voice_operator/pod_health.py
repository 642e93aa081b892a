"""Pure reading of a VoiceService's pods: why they do not serve, as status problems.

A Deployment only says "0 of 1 ready"; the pods say why (an image that cannot be pulled, a
server that crash-loops on a corrupt checkpoint, a model download that fails its checksum, a GPU
request no node can meet, a Secret that does not exist). The operator reads no Secrets: a missing
one is what the kubelet reports, in a container's waiting state (a Secret read into a variable)
or in FailedMount Events of a pod that cannot start (a Secret volume). Nothing here talks to the
API server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from voice_operator import constants as c
from voice_operator.status import Problem

# Waiting reasons that mean the image will not start without a change by someone.
_IMAGE_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "ImageInspectError"}
)
# Waiting reasons of a container that cannot be created as specified (a missing Secret or key).
_CONFIG_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError"})
_MESSAGE_LIMIT = 300
# How the kubelet names a Secret it cannot find, for an environment variable or a volume.
_SECRET_NOT_FOUND = re.compile(r'secrets? "([^"]+)" not found')
# Events the kubelet posts while a pod's volumes cannot be mounted (a Secret volume that is missing
# leaves the pod Pending in ContainerCreating; only these Events say why).
# How the kubelet words a hostPath volume whose path is not there (or not of its ``type``).
_HOST_PATH_CHECK = "hostPath type check failed"
MOUNT_FAILURE_EVENTS = "involvedObject.kind=Pod,reason=FailedMount"


def _short(text: str) -> str:
    """One line, bounded: termination messages may carry a log tail."""
    line = " ".join(text.split())
    return line if len(line) <= _MESSAGE_LIMIT else line[: _MESSAGE_LIMIT - 3] + "..."


def _tail(text: str) -> str:
    """The last lines of a termination message (a log tail ends with the error), bounded."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    kept: list[str] = []
    while lines and sum(len(line) + 1 for line in kept) + len(lines[-1]) <= _MESSAGE_LIMIT:
        kept.insert(0, lines.pop())
    return " ".join(kept) if kept else _short(text[-_MESSAGE_LIMIT:])


def _last_exit(status: Mapping[str, Any]) -> str:
    """'exit code N (reason): message' of the container's last termination, or ''."""
    ended = (status.get("lastState") or {}).get("terminated") or (status.get("state") or {}).get("terminated")
    if not ended:
        return ""
    text = f"exit code {ended.get('exitCode')}"
    if ended.get("reason"):
        text += f" ({ended['reason']})"
    if ended.get("message"):
        text += f": {_tail(str(ended['message']))}"
    return text


def _container_problem(pod: str, status: Mapping[str, Any], init: bool) -> Problem | None:
    name = str(status.get("name", "?"))
    waiting = (status.get("state") or {}).get("waiting") or {}
    reason = str(waiting.get("reason") or "")
    detail = _short(str(waiting.get("message") or ""))
    where = f"pod {pod}, container {name}"
    if reason in _IMAGE_REASONS:
        return Problem("ImageUnavailable", f"{where}: {reason}: {detail or status.get('image', '')}")
    if reason in _CONFIG_REASONS:
        return _secret_missing(f"{where}: {detail}") or Problem(
            "ContainerConfigError", f"{where}: {reason}: {detail}"
        )
    failed_init = init and ((status.get("state") or {}).get("terminated") or {}).get("exitCode", 0) != 0
    # Restarted after a failure and not serving yet: between back-offs the kubelet shows it
    # running again, and a resync would otherwise see nothing wrong half of the time.
    failed_before = ((status.get("lastState") or {}).get("terminated") or {}).get("exitCode", 0) != 0
    relapsing = failed_before and not status.get("ready") and int(status.get("restartCount") or 0) > 0
    if reason == "CrashLoopBackOff" or failed_init or relapsing:
        exit_text = _last_exit(status) or detail
        if init and name == c.FETCH_CONTAINER:
            return Problem("ModelFetchFailed", f"{where}: the model download failed: {exit_text}")
        return Problem("CrashLoopBackOff", f"{where} keeps exiting: {exit_text}")
    return None


def _secret_missing(report: str) -> Problem | None:
    """SecretMissing naming the Secret, when the kubelet's ``report`` says one does not exist."""
    found = _SECRET_NOT_FOUND.search(report)
    if found is None:
        return None
    return Problem("SecretMissing", f"Secret {found[1]!r} does not exist ({report})")


def _mount_problem(pod: str, event: Mapping[str, Any]) -> Problem | None:
    """A Secret volume of ``pod`` that cannot be mounted; other mount failures may pass by themselves."""
    message = _short(str(event.get("message") or ""))
    report = f"pod {pod}: {message}"
    missing = _secret_missing(report)
    if missing is not None:
        return missing
    if "secret" in message.lower():  # the Secret exists but lacks the key the volume projects
        return Problem("SecretMountFailed", report)
    if _HOST_PATH_CHECK in message:  # the model folder is not on the node: no retry will help
        return Problem("ModelFolderMissing", report)
    return None


def waiting_for_volumes(pods: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Name → uid of the live pods on a node that have not started: their volumes may not mount."""
    return {
        str(pod["metadata"]["name"]): str(pod["metadata"].get("uid") or "")
        for pod in pods
        if not pod["metadata"].get("deletionTimestamp")
        and (pod.get("spec") or {}).get("nodeName")
        and (pod.get("status") or {}).get("phase", "Pending") == "Pending"
    }


def _unschedulable(pod: str, pod_status: Mapping[str, Any], gpu_resource: str) -> Problem | None:
    for condition in pod_status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
            message = _short(str(condition.get("message") or ""))
            reason = "InsufficientGPU" if gpu_resource in message else "Unschedulable"
            return Problem(reason, f"pod {pod} cannot be scheduled: {message}")
    return None


def _pod_problems(pod: Mapping[str, Any], gpu_resource: str) -> Iterable[Problem]:
    name = str((pod.get("metadata") or {}).get("name", "?"))
    status = pod.get("status") or {}
    unschedulable = _unschedulable(name, status, gpu_resource)
    if unschedulable is not None:
        yield unschedulable
    for key, init in (("initContainerStatuses", True), ("containerStatuses", False)):
        for container in status.get(key) or []:
            problem = _container_problem(name, container, init)
            if problem is not None:
                yield problem


def pod_problems(
    pods: Sequence[Mapping[str, Any]],
    gpu_resource: str,
    mount_failures: Sequence[Mapping[str, Any]] = (),
) -> list[Problem]:
    """One problem per cause (the first pod that shows it names it), in a stable order.

    ``gpu_resource`` is the extended resource the pods request (``nvidia.com/gpu``), so a pod
    that no node can give one is told apart from other scheduling failures. ``mount_failures``
    are the namespace's :data:`MOUNT_FAILURE_EVENTS`; only those of pods still waiting for their
    volumes count, since Events outlive the failure they report.
    """
    found: dict[str, Problem] = {}
    live = [pod for pod in pods if not (pod.get("metadata") or {}).get("deletionTimestamp")]
    for pod in sorted(live, key=lambda p: str((p.get("metadata") or {}).get("name", ""))):
        for problem in _pod_problems(pod, gpu_resource):
            found.setdefault(problem.reason, problem)
    waiting = waiting_for_volumes(live)
    newest_first = sorted(
        mount_failures, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""), reverse=True
    )
    for event in newest_first:
        involved = event.get("involvedObject") or {}
        name = str(involved.get("name") or "")
        if name not in waiting or involved.get("uid", waiting[name]) != waiting[name]:
            continue
        mount = _mount_problem(name, event)
        if mount is not None:
            found.setdefault(mount.reason, mount)
    return list(found.values())
