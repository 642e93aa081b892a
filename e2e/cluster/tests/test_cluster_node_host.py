"""Host checks of the real node that need no root: why a host cannot run it, image names."""

from __future__ import annotations

import pytest

from e2e.cluster import node_host
from e2e.cluster.node_images import containerd_name


def test_non_root_is_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_host.os, "geteuid", lambda: 1000)
    assert node_host.unsupported_reason() == (
        "a real node needs root (it creates a bridge, iptables rules and mounts)"
    )


def test_other_systems_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_host.sys, "platform", "darwin")
    assert node_host.unsupported_reason() == "a real node needs Linux (this is darwin)"


def test_missing_tools_name_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_host.os, "geteuid", lambda: 0)
    monkeypatch.setattr(node_host, "_which", lambda tool: None if tool == "containerd" else "/bin/" + tool)
    reason = node_host.unsupported_reason() or ""
    assert reason.startswith("missing containerd")
    assert "make node-deps" in reason


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("gpt-sovits-k8s/server:0.1.0", "docker.io/gpt-sovits-k8s/server:0.1.0"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("localhost/gsv-e2e/pause:v1", "localhost/gsv-e2e/pause:v1"),
        ("registry.example:5000/a/b:1", "registry.example:5000/a/b:1"),
    ],
)
def test_images_are_named_as_the_kubelet_looks_them_up(ref: str, name: str) -> None:
    assert containerd_name(ref) == name
