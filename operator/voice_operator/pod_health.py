"""Pure reading of a VoiceService's pods: why they do not serve, as status problems.

A Deployment only says "0 of 1 ready"; the pods say why (an image that cannot be pulled, a
server that crash-loops on a corrupt checkpoint, a model download that fails its checksum, a GPU
request no node can meet). Nothing here talks to the API server.
"""

from __future__ import annotations

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
        return Problem("ContainerConfigError", f"{where}: {reason}: {detail}")
    failed_init = init and ((status.get("state") or {}).get("terminated") or {}).get("exitCode", 0) != 0
    if reason == "CrashLoopBackOff" or failed_init:
        exit_text = _last_exit(status) or detail
        if init and name == c.FETCH_CONTAINER:
            return Problem("ModelFetchFailed", f"{where}: the model download failed: {exit_text}")
        return Problem("CrashLoopBackOff", f"{where} keeps exiting: {exit_text}")
    return None


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


def pod_problems(pods: Sequence[Mapping[str, Any]], gpu_resource: str) -> list[Problem]:
    """One problem per cause (the first pod that shows it names it), in a stable order.

    ``gpu_resource`` is the extended resource the pods request (``nvidia.com/gpu``), so a pod
    that no node can give one is told apart from other scheduling failures.
    """
    found: dict[str, Problem] = {}
    live = [pod for pod in pods if not (pod.get("metadata") or {}).get("deletionTimestamp")]
    for pod in sorted(live, key=lambda p: str((p.get("metadata") or {}).get("name", ""))):
        for problem in _pod_problems(pod, gpu_resource):
            found.setdefault(problem.reason, problem)
    return list(found.values())
