"""Builds the pinned control-plane binaries with Go and caches them outside the clone.

The cache folder is keyed by a hash of the builder module (go.mod, go.sum, tools.go), the Go
version and every component's version and link flags, so a warm machine rebuilds nothing and a
changed pin gets a fresh folder. GOMODCACHE and GOCACHE are kept under the cache root too, so
even a new key recompiles only what changed.

The opt-in metrics pipeline (Prometheus, prometheus-adapter) has a folder and key of its own,
``metrics-pipeline-<key>``, built only when a cluster asks for it; so has nerdctl
(``nerdctl-<key>``), built only for the single-host compose test.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from e2e.cluster.settings import ClusterSettings
from e2e.cluster.versions import (
    COMPONENTS,
    KWOK_VERSION,
    NERDCTL,
    PIPELINE_COMPONENTS,
    PIPELINE_MODULE,
    Component,
)

log = logging.getLogger(__name__)

BUILDER_DIR = Path(__file__).resolve().parent / "builder"
_BUILDER_FILES = ("go.mod", "go.sum", "tools.go", "pause/main.go")
PIPELINE_DIR = Path(__file__).resolve().parent / PIPELINE_MODULE
_PIPELINE_FILES = ("go.mod", "go.sum", "tools.go")
# kwok has no built-in behaviour: these stage and metric files from its module make fake nodes
# Ready, pods Running and report pod usage. They are copied from the module cache, not committed.
_KWOK_CONFIG_FILES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
    "kustomize/metrics/resource/metrics-resource.yaml",
    "kustomize/metrics/usage/usage-from-annotation.yaml",
)
_LOG_TAIL_LINES = 30
_PIPELINE_PREFIX = "metrics-pipeline-"
_NERDCTL_PREFIX = "nerdctl-"

Progress = Callable[[str], None]


class BuildError(RuntimeError):
    """A component could not be built; the message names it and its log file."""

    def __init__(self, component: str, log_file: Path | None, detail: str) -> None:
        self.component = component
        self.log_file = log_file
        where = f" (log: {log_file})" if log_file is not None else ""
        super().__init__(f"building {component} failed{where}: {detail}")


@dataclass(frozen=True)
class Toolset:
    """The built binaries and the kwok configuration that goes with them."""

    root: Path

    @property
    def bin_dir(self) -> Path:
        """Folder with kubectl, helm, kube-apiserver, ..."""
        return self.root / "bin"

    @property
    def kwok_config(self) -> Path:
        """Multi-document kwok configuration: stages, metrics endpoint, usage from annotations."""
        return self.root / "kwok" / "kwok.yaml"

    @property
    def log_dir(self) -> Path:
        """Build logs, one per component."""
        return self.root / "logs"

    def binary(self, name: str) -> Path:
        """Path of one binary."""
        return self.bin_dir / name

    def complete(self) -> bool:
        """True when every binary and the kwok configuration are present."""
        return self.kwok_config.is_file() and all(self.binary(c.name).is_file() for c in COMPONENTS)


def go_environment(settings: ClusterSettings) -> dict[str, str]:
    """Environment for every Go command: project-owned caches, static binaries, no toolchain swap."""
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(settings.go_dir / "mod"),
        GOCACHE=str(settings.go_dir / "build"),
        # The preinstalled Go must be used as is; downloading another toolchain is not allowed.
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
        GOFLAGS="-buildvcs=false",
    )
    return env


def go_version(settings: ClusterSettings) -> str:
    """``go version`` output; raises :class:`BuildError` naming Go when it is missing."""
    go = shutil.which(settings.go)
    if go is None:
        raise BuildError("go", None, f"the Go toolchain {settings.go!r} is not on PATH; install Go 1.26+")
    result = subprocess.run(
        [go, "version"], capture_output=True, text=True, check=False, env=go_environment(settings), timeout=60
    )
    if result.returncode != 0:
        raise BuildError("go", None, f"`go version` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def cache_key(go_version_line: str) -> str:
    """Hash of everything that decides the binaries' content."""
    digest = hashlib.sha256()
    for name in _BUILDER_FILES:
        digest.update(name.encode() + b"\0" + (BUILDER_DIR / name).read_bytes() + b"\0")
    digest.update(go_version_line.encode())
    spec = [[c.name, c.package, c.mode, c.version, list(c.ldflags)] for c in COMPONENTS]
    digest.update(json.dumps(spec, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def toolset_for(settings: ClusterSettings) -> Toolset:
    """Where the binaries for the current pins live (built or not)."""
    return Toolset(settings.cache_dir / f"k8s-{cache_key(go_version(settings))}")


def pipeline_cache_key(go_version_line: str) -> str:
    """Hash of what decides the metrics pipeline's binaries: its module, the Go version, the pins."""
    digest = hashlib.sha256()
    for name in _PIPELINE_FILES:
        digest.update(name.encode() + b"\0" + (PIPELINE_DIR / name).read_bytes() + b"\0")
    digest.update(go_version_line.encode())
    spec = [
        [c.name, c.package, c.mode, c.version, list(c.ldflags), c.module, list(c.tags)]
        for c in PIPELINE_COMPONENTS
    ]
    digest.update(json.dumps(spec, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def pipeline_toolset_for(settings: ClusterSettings) -> Toolset:
    """Where the metrics pipeline's binaries (Prometheus, prometheus-adapter) live, built or not.

    Only ``bin_dir``, ``log_dir`` and ``binary`` apply; :func:`pipeline_complete` says whether
    they are built (``Toolset.complete`` is about the control plane's binaries).
    """
    return Toolset(settings.cache_dir / f"{_PIPELINE_PREFIX}{pipeline_cache_key(go_version(settings))}")


def pipeline_complete(toolset: Toolset) -> bool:
    """True when every binary of the metrics pipeline is in ``toolset``."""
    return all(toolset.binary(c.name).is_file() for c in PIPELINE_COMPONENTS)


def _ldflags(component: Component) -> str:
    # -s -w drop symbol and debug tables: about a third smaller, faster to link and copy.
    return " ".join(("-s", "-w", *component.ldflags))


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _build_command(settings: ClusterSettings, component: Component, out: Path) -> tuple[list[str], Path]:
    """The Go command for one component and the folder to run it in."""
    common = ["-p", str(settings.build_jobs), "-trimpath", "-ldflags", _ldflags(component)]
    if component.tags:
        common += ["-tags", ",".join(component.tags)]
    if component.mode == "builder":
        module_dir = BUILDER_DIR.parent / component.module
        return [settings.go, "build", *common, "-o", str(out), component.package], module_dir
    if component.mode == "module":
        module_dir = _module_dir(settings, component.module, component.version)
        return [settings.go, "build", *common, "-o", str(out), component.package], module_dir
    # `go install pkg@version` runs outside any module: it resolves the tool's own go.mod.
    return [settings.go, "install", *common, f"{component.package}@{component.version}"], out.parent


def build_component(settings: ClusterSettings, toolset: Toolset, component: Component) -> None:
    """Compile one binary into ``toolset.bin_dir``; raises :class:`BuildError` with the log tail."""
    log_file = toolset.log_dir / f"build-{component.name}.log"
    staging = toolset.root / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    out = staging / component.name
    cmd, cwd = _build_command(settings, component, out)
    env = go_environment(settings)
    # go install writes to GOBIN under the package's last path element; collect it there.
    gobin = staging / f"gobin-{component.name}"
    env["GOBIN"] = str(gobin)
    with log_file.open("w") as sink:
        sink.write("$ " + " ".join(cmd) + "\n")
        sink.flush()
        result = subprocess.run(cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise BuildError(component.name, log_file, f"exit code {result.returncode}\n{_tail(log_file)}")
    if component.mode == "install":
        produced = [p for p in gobin.iterdir() if p.is_file()] if gobin.is_dir() else []
        if len(produced) != 1:
            raise BuildError(component.name, log_file, f"expected one binary in {gobin}, found {produced}")
        produced[0].replace(out)
        shutil.rmtree(gobin, ignore_errors=True)
    # Rename last so an interrupted build never leaves a half-written binary under bin/.
    out.replace(toolset.binary(component.name))


def _module_dir(settings: ClusterSettings, module: str, version: str) -> Path:
    """Folder of a downloaded module in GOMODCACHE (downloading it if needed)."""
    result = subprocess.run(
        [settings.go, "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        check=False,
        env=go_environment(settings),
        cwd=settings.go_dir,
        timeout=600,
    )
    if result.returncode != 0:
        raise BuildError(module, None, f"go mod download {module}@{version}: {result.stderr.strip()}")
    return Path(json.loads(result.stdout)["Dir"])


def write_kwok_config(settings: ClusterSettings, toolset: Toolset) -> None:
    """Concatenate kwok's stage and metric documents into one ``--config`` file."""
    source = _module_dir(settings, "sigs.k8s.io/kwok", KWOK_VERSION)
    documents = []
    for rel in _KWOK_CONFIG_FILES:
        path = source / rel
        if not path.is_file():
            raise BuildError("kwok-config", None, f"{path} is missing from the kwok module")
        documents.append(path.read_text().strip())
    toolset.kwok_config.parent.mkdir(parents=True, exist_ok=True)
    tmp = toolset.kwok_config.with_suffix(".tmp")
    tmp.write_text("\n---\n".join(documents) + "\n")
    tmp.replace(toolset.kwok_config)


@contextlib.contextmanager
def _build_lock(root: Path, say: Progress, *, wait: bool = True) -> Iterator[bool]:
    """Hold ``<root>.lock`` so concurrent test sessions never build into the same folder.

    Yields False (without waiting) when ``wait`` is off and another process holds the lock.
    """
    root.parent.mkdir(parents=True, exist_ok=True)
    with root.with_name(root.name + ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            say(f"another process is building {root.name}; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_built(settings: ClusterSettings, progress: Progress | None = None) -> Toolset:
    """Build whatever is missing for the current pins and return the toolset.

    Components are built one after another on purpose: each Go build already uses
    ``settings.build_jobs`` cores, and the k8s binaries reuse each other's compiled packages.
    With ``settings.metrics_pipeline`` the pipeline's binaries are built too (see
    :func:`ensure_pipeline_built`); the returned toolset is the control plane's either way.
    """
    say = progress or log.info
    toolset = toolset_for(settings)
    if not toolset.complete():
        with _build_lock(toolset.root, say):
            if not toolset.complete():  # another process may have finished it while we waited
                _build_missing(settings, toolset, say)
        _prune_other_keys(settings, toolset, say)
    if settings.metrics_pipeline:
        ensure_pipeline_built(settings, say)
    return toolset


def ensure_pipeline_built(settings: ClusterSettings, progress: Progress | None = None) -> Toolset:
    """Build the metrics pipeline's binaries if they are missing; returns where they are."""
    say = progress or log.info
    toolset = pipeline_toolset_for(settings)
    if pipeline_complete(toolset):
        return toolset
    with _build_lock(toolset.root, say):
        if not pipeline_complete(toolset):
            _build_components(settings, toolset, PIPELINE_COMPONENTS, say)
    _prune_other_keys(settings, toolset, say, _PIPELINE_PREFIX)
    return toolset


def nerdctl_cache_key(go_version_line: str) -> str:
    """Hash of what decides the nerdctl binary: its pin, link flags and the Go version."""
    spec = [NERDCTL.module, NERDCTL.version, list(NERDCTL.ldflags), go_version_line]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]


def ensure_nerdctl_built(settings: ClusterSettings, progress: Progress | None = None) -> Path:
    """The pinned nerdctl binary, built from its own module on first use; returns its path."""
    say = progress or log.info
    toolset = Toolset(settings.cache_dir / f"{_NERDCTL_PREFIX}{nerdctl_cache_key(go_version(settings))}")
    binary = toolset.binary(NERDCTL.name)
    if binary.is_file():
        return binary
    with _build_lock(toolset.root, say):
        if not binary.is_file():
            _build_components(settings, toolset, (NERDCTL,), say)
    _prune_other_keys(settings, toolset, say, _NERDCTL_PREFIX)
    return binary


def _build_missing(settings: ClusterSettings, toolset: Toolset, say: Progress) -> None:
    _build_components(settings, toolset, COMPONENTS, say)
    if not toolset.kwok_config.is_file():
        write_kwok_config(settings, toolset)


def _build_components(
    settings: ClusterSettings, toolset: Toolset, components: tuple[Component, ...], say: Progress
) -> None:
    for folder in (toolset.bin_dir, toolset.log_dir, settings.go_dir):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(toolset.root / "staging", ignore_errors=True)  # left by an interrupted build
    missing = [c for c in components if not toolset.binary(c.name).is_file()]
    say(f"building {len(missing)} binaries into {toolset.bin_dir} (the first build takes many minutes)")
    total_start = time.monotonic()
    for index, component in enumerate(missing, 1):
        start = time.monotonic()
        say(f"[{index}/{len(missing)}] {component.name} {component.version} ...")
        build_component(settings, toolset, component)
        say(f"[{index}/{len(missing)}] {component.name} built in {time.monotonic() - start:.0f}s")
    shutil.rmtree(toolset.root / "staging", ignore_errors=True)
    say(f"all binaries ready in {time.monotonic() - total_start:.0f}s")


def _prune_other_keys(settings: ClusterSettings, keep: Toolset, say: Progress, prefix: str = "k8s-") -> None:
    """Remove binaries of older pins (about 0.5 GB each); the Go caches make going back cheap."""
    for folder in settings.cache_dir.glob(f"{prefix}*"):
        if not folder.is_dir() or folder == keep.root:
            continue
        with _build_lock(folder, say, wait=False) as free:
            if free:  # a folder still being built by another session is left alone
                say(f"removing binaries of an older pin: {folder}")
                shutil.rmtree(folder, ignore_errors=True)
