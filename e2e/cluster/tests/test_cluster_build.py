"""Build bookkeeping: the cache key, and failures that name the component and its log."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.cluster.build import (
    BUILDER_DIR,
    BuildError,
    Toolset,
    build_component,
    cache_key,
    go_version,
    nerdctl_cache_key,
    toolset_for,
)
from e2e.cluster.settings import ClusterSettings
from e2e.cluster.versions import BINARIES, COMPONENTS, ETCD_VERSION, KUBERNETES_VERSION, Component


def test_cache_key_is_stable_and_follows_the_go_version() -> None:
    assert cache_key("go version go1.26.8 linux/amd64") == cache_key("go version go1.26.8 linux/amd64")
    assert cache_key("go version go1.26.8 linux/amd64") != cache_key("go version go1.26.9 linux/amd64")


def test_nerdctl_has_a_key_of_its_own_that_follows_the_go_version() -> None:
    go = "go version go1.26.8 linux/amd64"
    assert nerdctl_cache_key(go) == nerdctl_cache_key(go)
    assert nerdctl_cache_key(go) != nerdctl_cache_key("go version go1.26.9 linux/amd64")
    assert nerdctl_cache_key(go) != cache_key(go)


def test_toolset_lives_under_the_cache_root_keyed_by_version(tmp_path: Path) -> None:
    toolset = toolset_for(ClusterSettings(cache_dir=tmp_path))
    assert toolset.root.parent == tmp_path
    assert toolset.root.name.startswith("k8s-")
    assert toolset.bin_dir == toolset.root / "bin"
    assert not toolset.complete()


def test_every_needed_binary_is_pinned() -> None:
    assert set(BINARIES) == {
        "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl",
        "etcd", "kwok", "metrics-server", "helm", "kubelet", "kube-proxy", "pause",
    }  # fmt: skip
    for component in COMPONENTS:
        assert component.version


def test_a_missing_go_is_named_clearly() -> None:
    with pytest.raises(BuildError, match="Go toolchain 'no-such-go' is not on PATH") as info:
        go_version(ClusterSettings(go="no-such-go"))
    assert info.value.component == "go"


def test_a_failed_build_names_the_component_and_its_log(tmp_path: Path) -> None:
    settings = ClusterSettings()  # the shared Go caches: resolving the builder module stays cheap
    toolset = Toolset(tmp_path / "k8s-test")
    toolset.log_dir.mkdir(parents=True)
    toolset.bin_dir.mkdir(parents=True)
    broken = Component("kube-nothing", "gpt-sovits-k8s/e2e/cluster/builder/no/such/cmd", "builder", "v0")
    with pytest.raises(BuildError) as info:
        build_component(settings, toolset, broken)
    log_file = toolset.log_dir / "build-kube-nothing.log"
    assert info.value.component == "kube-nothing"
    assert info.value.log_file == log_file
    assert "building kube-nothing failed" in str(info.value)
    assert str(log_file) in str(info.value)
    assert "no/such/cmd" in log_file.read_text()
    assert not toolset.binary("kube-nothing").exists()


def test_pinned_versions_match_the_builder_module() -> None:
    go_mod = (BUILDER_DIR / "go.mod").read_text()
    assert f"k8s.io/kubernetes {KUBERNETES_VERSION}\n" in go_mod
    assert f"go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n" in go_mod
    staging = KUBERNETES_VERSION.replace("v1.", "v0.", 1)
    replaces = [line for line in go_mod.splitlines() if "=>" in line]
    assert len(replaces) >= 33
    assert all(line.endswith(staging) for line in replaces)
