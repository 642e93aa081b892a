"""Pinned versions of every binary the local control plane runs, and how each is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KUBERNETES_VERSION = "v1.36.3"
KWOK_VERSION = "v0.8.0"
METRICS_SERVER_VERSION = "v0.9.0"
HELM_VERSION = "v3.22.0"
# The metrics pipeline (opt-in, --metrics-pipeline). The module proxy lists no versions of the
# adapter's module, but serves this release when it is named; v0.12.0 is the newest tag.
PROMETHEUS_ADAPTER_VERSION = "v0.12.0"
# Prometheus 3.16.0: its Go module numbers 3.x releases v0.3xx.y.
PROMETHEUS_VERSION = "v0.316.0"
# Must equal the require in builder/go.mod (the version k8s 1.36 itself pins); raise both together.
ETCD_VERSION = "v3.6.8"
# The project's own pause program; raise when builder/pause changes (it is also in the cache key).
PAUSE_VERSION = "v1"
BUILDER_MODULE = "gpt-sovits-k8s/e2e/cluster/builder"

# nerdctl runs docker/docker-compose.yml on the real node's containerd (the single-host test).
# The 1.7 line, because the node runs Debian's containerd 1.6, which nerdctl 2 no longer supports;
# and nerdctl 2's go.mod has a replace directive, which `go install pkg@version` refuses.
NERDCTL_VERSION = "v1.7.7"
NERDCTL_MODULE = "github.com/containerd/nerdctl"

# A fixed build date keeps the binaries reproducible, so the cache key alone decides a rebuild.
BUILD_DATE = "1970-01-01T00:00:00Z"
_FAKE_COMMIT = "0" * 40


@dataclass(frozen=True)
class Component:
    """One binary: its name in bin/, the Go package it comes from, and how it is built.

    ``builder`` components are compiled inside a committed module, the folder ``module`` beside
    this file (the Kubernetes release needs replace directives); ``install`` components come from
    their own module graph via ``go install pkg@version`` so their newer dependency pins never leak
    into the k8s build; ``module`` components are compiled inside their own downloaded module
    ``module`` (its go.mod and go.sum, as a release build is), for modules whose version list the
    module proxy refuses, which ``go install pkg@version`` asks for. ``tags`` are Go build tags.
    """

    name: str
    package: str
    mode: Literal["builder", "install", "module"]
    version: str
    ldflags: tuple[str, ...] = ()
    module: str = "builder"
    tags: tuple[str, ...] = ()


def _k8s_version_ldflags(version: str) -> tuple[str, ...]:
    """``-X`` flags that stamp a Kubernetes version; without them binaries report v0.0.0-master."""
    major, minor = version.lstrip("v").split(".")[:2]
    flags: list[str] = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitCommit={_FAKE_COMMIT}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate={BUILD_DATE}",
        ]
    return tuple(flags)


_K8S_STAMP = _k8s_version_ldflags(KUBERNETES_VERSION)

# Build order matters only for the time a first build takes: the k8s binaries share most of their
# compile, so they go first and back to back.
COMPONENTS: tuple[Component, ...] = (
    Component(
        "kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", "builder", KUBERNETES_VERSION, _K8S_STAMP
    ),
    Component(
        "kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "builder",
        KUBERNETES_VERSION,
        _K8S_STAMP,
    ),
    Component(
        "kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler", "builder", KUBERNETES_VERSION, _K8S_STAMP
    ),
    Component("kubectl", "k8s.io/kubernetes/cmd/kubectl", "builder", KUBERNETES_VERSION, _K8S_STAMP),
    Component("etcd", "go.etcd.io/etcd/server/v3", "builder", ETCD_VERSION),
    # The real node's agents, from the same release (they share most packages with the above).
    Component("kubelet", "k8s.io/kubernetes/cmd/kubelet", "builder", KUBERNETES_VERSION, _K8S_STAMP),
    Component("kube-proxy", "k8s.io/kubernetes/cmd/kube-proxy", "builder", KUBERNETES_VERSION, _K8S_STAMP),
    # The real node's sandbox process (builder/pause), packed into its pause image at start.
    Component("pause", f"{BUILDER_MODULE}/pause", "builder", PAUSE_VERSION),
    # kwok bakes its own version into a constant, so it needs no stamp.
    Component("kwok", "sigs.k8s.io/kwok/cmd/kwok", "install", KWOK_VERSION),
    Component(
        "metrics-server", "sigs.k8s.io/metrics-server/cmd/metrics-server", "install", METRICS_SERVER_VERSION
    ),
    Component(
        "helm",
        "helm.sh/helm/v3/cmd/helm",
        "install",
        HELM_VERSION,
        (f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",),
    ),
)

BINARIES: tuple[str, ...] = tuple(c.name for c in COMPONENTS)

# Built only for clusters started with the metrics pipeline, into a cache folder of their own, so
# a cold build of the ordinary toolset (and its cache key) does not grow for everyone.
#
# Prometheus comes from its own module graph with every service discovery but Kubernetes' left out
# (its `remove_all_sd` and `enable_kubernetes_sd` build tags): a fraction of the full compile.
# Debian's package is no alternative: it is built without Kubernetes service discovery.
# The adapter pins Kubernetes libraries of its own (0.30): it is built in the pipeline module
# (pipeline/go.mod requires this version and nothing else), never in the builder module.
PIPELINE_MODULE = "pipeline"


def prometheus_release(module_version: str) -> str:
    """The Prometheus release a module version stands for: ``v0.316.0`` is 3.16.0."""
    _, number, patch = module_version.lstrip("v").split(".")
    return f"{int(number) // 100}.{int(number) % 100}.{patch}"


_PROMETHEUS_STAMP = tuple(
    f"-X github.com/prometheus/common/version.{name}={value}"
    for name, value in (
        ("Version", prometheus_release(PROMETHEUS_VERSION)),
        ("Revision", _FAKE_COMMIT),
        ("Branch", "HEAD"),
        ("BuildUser", "gsv-e2e"),
        ("BuildDate", BUILD_DATE),
    )
)
PIPELINE_COMPONENTS: tuple[Component, ...] = (
    Component(
        "prometheus",
        "github.com/prometheus/prometheus/cmd/prometheus",
        "install",
        PROMETHEUS_VERSION,
        _PROMETHEUS_STAMP,
        tags=("remove_all_sd", "enable_kubernetes_sd"),
    ),
    Component(
        "prometheus-adapter",
        "sigs.k8s.io/prometheus-adapter/cmd/adapter",
        "builder",
        PROMETHEUS_ADAPTER_VERSION,
        module=PIPELINE_MODULE,
    ),
)
NERDCTL = Component(
    "nerdctl",
    f"{NERDCTL_MODULE}/cmd/nerdctl",
    "module",
    NERDCTL_VERSION,
    (f"-X {NERDCTL_MODULE}/pkg/version.Version={NERDCTL_VERSION}",),
    module=NERDCTL_MODULE,
)
