"""pod_problems: why a VoiceService's pods do not serve, read from pod status as the kubelet writes it."""

from __future__ import annotations

from typing import Any

from voice_operator.pod_health import pod_problems, waiting_for_volumes

GPU = "nvidia.com/gpu"


def _pod(name: str, status: dict[str, Any], deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    return {"metadata": meta, "status": status}


def _waiting(name: str, reason: str, message: str = "", **extra: Any) -> dict[str, Any]:
    return {"name": name, "state": {"waiting": {"reason": reason, "message": message}}, **extra}


def test_healthy_and_starting_pods_have_no_problem() -> None:
    running = {"containerStatuses": [{"name": "server", "state": {"running": {}}, "ready": True}]}
    creating = {"containerStatuses": [_waiting("server", "ContainerCreating")]}
    initialising = {"initContainerStatuses": [_waiting("fetch-model", "PodInitializing")]}
    pods = [_pod("a", running), _pod("b", creating), _pod("c", initialising), _pod("d", {})]
    assert pod_problems(pods, GPU) == []


def test_an_image_that_cannot_be_pulled_is_named() -> None:
    message = 'Container image "gpt-sovits-k8s/server:nope" is not present with pull policy of Never'
    pods = [_pod("v-1", {"containerStatuses": [_waiting("server", "ErrImageNeverPull", message)]})]
    (problem,) = pod_problems(pods, GPU)
    assert problem.reason == "ImageUnavailable"
    assert "pod v-1, container server: ErrImageNeverPull" in problem.message
    assert "gpt-sovits-k8s/server:nope" in problem.message


def test_a_crash_loop_reports_the_exit_and_the_last_log_lines() -> None:
    server = _waiting(
        "server",
        "CrashLoopBackOff",
        "back-off 20s restarting failed container",
        lastState={"terminated": {"exitCode": 2, "reason": "Error", "message": "cannot load x:\n cut"}},
    )
    (problem,) = pod_problems([_pod("v-1", {"containerStatuses": [server]})], GPU)
    assert problem.reason == "CrashLoopBackOff"
    assert "exit code 2 (Error): cannot load x: cut" in problem.message


def test_a_crashed_container_that_runs_again_but_does_not_serve_still_counts() -> None:
    crashed = {"terminated": {"exitCode": 1, "reason": "Error", "message": "stopped after a failure: x"}}
    again = {
        "name": "server",
        "state": {"running": {}},
        "ready": False,
        "restartCount": 2,
        "lastState": crashed,
    }
    (problem,) = pod_problems([_pod("v-1", {"containerStatuses": [again]})], GPU)
    assert problem.reason == "CrashLoopBackOff"
    assert "exit code 1 (Error): stopped after a failure: x" in problem.message
    # Serving again after one crash (an OOM kill, say) is not a problem any more.
    healed = {**again, "ready": True}
    assert pod_problems([_pod("v-1", {"containerStatuses": [healed]})], GPU) == []
    # A clean exit before (a drain) is not a crash either.
    drained = {**again, "lastState": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    assert pod_problems([_pod("v-1", {"containerStatuses": [drained]})], GPU) == []


def test_a_failed_model_download_is_told_apart_from_a_crash() -> None:
    fetch = {
        "name": "fetch-model",
        "state": {"terminated": {"exitCode": 1, "reason": "Error", "message": "sha256 mismatch"}},
    }
    (problem,) = pod_problems([_pod("v-1", {"initContainerStatuses": [fetch]})], GPU)
    assert problem.reason == "ModelFetchFailed"
    assert "sha256 mismatch" in problem.message
    looping = _waiting(
        "fetch-model", "CrashLoopBackOff", lastState={"terminated": {"exitCode": 1, "message": "HTTP 404"}}
    )
    (problem,) = pod_problems([_pod("v-2", {"initContainerStatuses": [looping]})], GPU)
    assert problem.reason == "ModelFetchFailed"
    assert "exit code 1: HTTP 404" in problem.message
    # A log tail as termination message: its last lines, where the error is, are kept.
    log_tail = "\n".join(f"progress line {i}" for i in range(200)) + "\ncannot download u: refused\n"
    ended = {"name": "fetch-model", "state": {"terminated": {"exitCode": 1, "message": log_tail}}}
    (problem,) = pod_problems([_pod("v-3", {"initContainerStatuses": [ended]})], GPU)
    assert problem.message.endswith("progress line 199 cannot download u: refused")
    assert len(problem.message) < 400


def test_pods_that_cannot_get_a_gpu_say_so() -> None:
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": f"0/3 nodes are available: 3 Insufficient {GPU}.",
    }
    (problem,) = pod_problems([_pod("v-1", {"phase": "Pending", "conditions": [condition]})], GPU)
    assert problem.reason == "InsufficientGPU"
    assert f"Insufficient {GPU}" in problem.message
    other = {**condition, "message": "0/3 nodes are available: 3 node(s) didn't match node selector."}
    (problem,) = pod_problems([_pod("v-1", {"conditions": [other]})], GPU)
    assert problem.reason == "Unschedulable"


def test_a_missing_secret_in_a_variable_is_named() -> None:
    # The Hub token is an environment variable of the fetcher: the kubelet cannot create it.
    fetch = _waiting("fetch-model", "CreateContainerConfigError", 'secret "hf-token" not found')
    (problem,) = pod_problems([_pod("v-1", {"phase": "Pending", "initContainerStatuses": [fetch]})], GPU)
    assert problem.reason == "SecretMissing"
    assert problem.message.startswith("Secret 'hf-token' does not exist (pod v-1, container fetch-model:")


def test_a_secret_without_the_key_is_a_config_error() -> None:
    message = "couldn't find key token in Secret voice/hf-token"
    pods = [
        _pod(
            "v-1", {"initContainerStatuses": [_waiting("fetch-model", "CreateContainerConfigError", message)]}
        )
    ]
    (problem,) = pod_problems(pods, GPU)
    assert problem.reason == "ContainerConfigError"
    assert message in problem.message


def _bound(name: str, uid: str, phase: str = "Pending") -> dict[str, Any]:
    """A pod on a node: Pending while its volumes do not mount (ContainerCreating)."""
    pod = _pod(name, {"phase": phase, "containerStatuses": [_waiting("server", "ContainerCreating")]})
    pod["metadata"]["uid"] = uid
    pod["spec"] = {"nodeName": "gpu-0"}
    return pod


def _failed_mount(pod: str, uid: str, message: str, at: str = "2026-12-01T00:00:00Z") -> dict[str, Any]:
    return {
        "reason": "FailedMount",
        "involvedObject": {"kind": "Pod", "name": pod, "uid": uid},
        "message": message,
        "lastTimestamp": at,
    }


MISSING_VOLUME = 'MountVolume.SetUp failed for volume "api-key" : secret "api-keys" not found'


def test_a_missing_secret_volume_is_named_from_the_mount_events() -> None:
    pods = [_bound("v-1", "u1")]
    assert waiting_for_volumes(pods) == {"v-1": "u1"}
    assert pod_problems(pods, GPU) == []  # ContainerCreating alone says nothing
    (problem,) = pod_problems(pods, GPU, [_failed_mount("v-1", "u1", MISSING_VOLUME)])
    assert problem.reason == "SecretMissing"
    assert problem.message == f"Secret 'api-keys' does not exist (pod v-1: {MISSING_VOLUME})"


def test_a_secret_volume_without_its_key_is_reported() -> None:
    message = 'MountVolume.SetUp failed for volume "api-key" : references non-existent secret key: api-key'
    (problem,) = pod_problems([_bound("v-1", "u1")], GPU, [_failed_mount("v-1", "u1", message)])
    assert problem.reason == "SecretMountFailed"
    assert message in problem.message


def test_a_host_path_model_folder_that_is_not_there_is_named() -> None:
    message = (
        'MountVolume.SetUp failed for volume "model" : hostPath type check failed: '
        "/srv/models is not a directory"
    )
    (problem,) = pod_problems([_bound("v-1", "u1")], GPU, [_failed_mount("v-1", "u1", message)])
    assert problem.reason == "ModelFolderMissing"
    assert "/srv/models is not a directory" in problem.message


def test_mount_events_count_only_for_pods_still_waiting_for_them() -> None:
    events = [_failed_mount("v-1", "u1", MISSING_VOLUME)]
    # The Secret appeared and the pod started; the Event lives on for an hour.
    assert pod_problems([_bound("v-1", "u1", phase="Running")], GPU, events) == []
    # Another pod of the same name (a StatefulSet would do that), or a pod not on a node yet.
    assert pod_problems([_bound("v-1", "u2")], GPU, events) == []
    unbound = _pod("v-1", {"phase": "Pending"})
    assert waiting_for_volumes([unbound]) == {}
    # Mount failures that are not about a Secret (an attaching disk) may pass by themselves.
    other = [_failed_mount("v-1", "u1", 'MountVolume.SetUp failed for volume "model" : timed out')]
    assert pod_problems([_bound("v-1", "u1")], GPU, other) == []


def test_the_newest_mount_event_names_the_problem() -> None:
    events = [
        _failed_mount("v-1", "u1", MISSING_VOLUME.replace("api-keys", "old-name"), at="2026-12-01T00:00:00Z"),
        _failed_mount("v-1", "u1", MISSING_VOLUME, at="2026-12-01T00:05:00Z"),
    ]
    (problem,) = pod_problems([_bound("v-1", "u1")], GPU, events)
    assert "'api-keys'" in problem.message


def test_one_problem_per_cause_and_terminating_pods_are_ignored() -> None:
    pulling = {"containerStatuses": [_waiting("server", "ImagePullBackOff", "x" * 1000)]}
    crashed = {"containerStatuses": [_waiting("server", "CrashLoopBackOff")]}
    pods = [_pod("v-2", pulling), _pod("v-1", pulling), _pod("v-0", crashed, deleting=True)]
    (problem,) = pod_problems(pods, GPU)
    assert problem.reason == "ImageUnavailable"
    assert problem.message.startswith("pod v-1,")
    assert len(problem.message) < 400
