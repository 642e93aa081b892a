"""Fixtures for tests that need a real Kubernetes API: ``cluster`` and ``namespace``.

By default one local control plane (see e2e/cluster) is built if needed and started for the whole
test session under the name ``pytest-<pid>``, and stopped at the end. With
``GSV_E2E_USE_EXISTING=1`` the cluster that ``KUBECONFIG`` (or ~/.kube/config) names is used
instead and nothing is started or stopped. When a test that used the cluster fails, the tail of
each component's log is attached to its report.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import threading
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from e2e.cluster import Cluster, ClusterSettings
from e2e.cluster.build import BuildError, Toolset, ensure_built, toolset_for
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.node import NODE_NAME
from e2e.cluster.node_host import HOST_RECORD, HostRecord, unsupported_reason
from e2e.cluster.node_images import OPERATOR_IMAGE, SERVER_IMAGE
from e2e.cluster.processes import log_tail, pid_alive

_CLUSTER_KEY = pytest.StashKey[Cluster]()
_TOOLSET_KEY = pytest.StashKey[Toolset | BuildError]()
_PLANE_KEY = pytest.StashKey[LocalControlPlane]()
# Why the session cluster has no real node (opt-in not given, or the host cannot run one).
_NO_NODE_KEY = pytest.StashKey[str]()
_NODE_OPT_IN = "real-node tests run with GSV_E2E_REAL_NODE=1 (`make test` as root on Linux)"
_SESSION_PREFIX = "pytest-"
# The real node's tests need its images built first, which `make test` does where a node can run
# (root, Linux) before it sets GSV_E2E_REAL_NODE=1: without it they are not collected.
_REAL_NODE_WANTED = ClusterSettings().real_node
# The metrics pipeline (Prometheus and prometheus-adapter, built from Go on first use) is what the
# autoscaling tests need; `make test` turns it on.
_PIPELINE_WANTED = ClusterSettings().metrics_pipeline
collect_ignore = [] if _REAL_NODE_WANTED else ["node"]
if not _PIPELINE_WANTED:
    collect_ignore += ["autoscaling", "node/test_node_autoscaling.py"]
# The opt-ins are for the session's cluster only: clusters that tests start themselves (the CLI in
# a subprocess, ClusterSettings() in a test) must not each try to run the host's one real node, nor
# each start a Prometheus.
os.environ.pop("GSV_E2E_REAL_NODE", None)
os.environ.pop("GSV_E2E_METRICS_PIPELINE", None)
_SESSION_OPT_INS = {"real_node": _REAL_NODE_WANTED, "metrics_pipeline": _PIPELINE_WANTED}


def _say(config: pytest.Config, message: str) -> None:
    """Print past pytest's capture: a cold build runs for many minutes and must show progress."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        sys.stderr.write(message + "\n")
        return
    with capture.global_and_fixture_disabled():
        sys.stderr.write(f"\n[e2e.cluster] {message}")
        sys.stderr.flush()


def _reap_stale_sessions(settings: ClusterSettings) -> None:
    """Stop clusters of earlier test sessions that died without tearing down (killed, timed out)."""
    root = settings.cache_dir / "clusters"
    if not root.is_dir():
        return
    for folder in root.glob(f"{_SESSION_PREFIX}*"):
        pid = folder.name.removeprefix(_SESSION_PREFIX)
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        LocalControlPlane(settings.model_copy(update={"name": folder.name, "state_dir": folder})).down()
        shutil.rmtree(folder, ignore_errors=True)


def _existing_cluster(settings: ClusterSettings) -> Cluster:
    kubeconfig = Path(os.environ.get("KUBECONFIG") or Path.home() / ".kube" / "config").expanduser()
    if not kubeconfig.is_file():
        raise pytest.UsageError(f"GSV_E2E_USE_EXISTING=1 but no kubeconfig at {kubeconfig}")
    # Prefer the project's own kubectl/helm when they are already built; else whatever is on PATH.
    bin_dir = Path()
    try:
        toolset = toolset_for(settings)
        if toolset.complete():
            bin_dir = toolset.bin_dir
    except Exception:
        pass
    if bin_dir == Path():
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise pytest.UsageError("GSV_E2E_USE_EXISTING=1 but kubectl is not on PATH")
        bin_dir = Path(kubectl).parent
    return Cluster(kubeconfig=kubeconfig, bin_dir=bin_dir)


def _uses(item: pytest.Item, fixture: str) -> bool:
    """Whether the test ``item`` asks for ``fixture`` (directly or through another fixture)."""
    return fixture in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the cluster carries the ``cluster`` mark (before marks select), so
    ``-m cluster`` and ``-m "not cluster"`` split the suite exactly (scripts/pytest-split.sh)."""
    for item in items:
        if _uses(item, "cluster") and item.get_closest_marker("cluster") is None:
            item.add_marker(pytest.mark.cluster)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the binaries before any test runs when a selected test needs the local cluster.

    A cold build takes far longer than one test's timeout, so it must not happen inside a fixture.
    A failure is kept and raised by the ``cluster`` fixture: only the tests that need it fail.
    """
    settings = ClusterSettings().model_copy(update=_SESSION_OPT_INS)
    wanted = any(_uses(item, "cluster") for item in session.items)
    if not wanted or settings.use_existing:
        return
    config = session.config
    try:
        config.stash[_TOOLSET_KEY] = ensure_built(settings, lambda m: _say(config, m))
    except BuildError as err:
        _say(config, str(err))
        config.stash[_TOOLSET_KEY] = err


class _ImagePreload:
    """Loads the server and operator images into the new real node's containerd in a thread.

    Loading the server image takes 2-3 minutes; the session's tests that do not use the node (they
    run first) overlap it. Its progress and any failure are kept and printed by :meth:`wait`, on
    the main thread (pytest's capture is not thread-safe); a failure is only reported, since the
    ``images`` fixture loads again and names it in the tests that need the images.
    """

    def __init__(self, plane: LocalControlPlane) -> None:
        self.messages: list[str] = []
        self._thread = threading.Thread(target=self._load, args=(plane,), name="preload-images", daemon=True)
        self._thread.start()

    def _load(self, plane: LocalControlPlane) -> None:
        try:
            plane.load_images([OPERATOR_IMAGE, SERVER_IMAGE], say=self.messages.append)
        except Exception as err:  # raised again where the images are needed
            self.messages.append(f"loading the images into the real node in the background failed: {err}")

    def wait(self, config: pytest.Config) -> None:
        """Until the loading has ended; then its messages, once."""
        self._thread.join()
        messages, self.messages = self.messages, []
        for message in messages:
            _say(config, f"(in the background) {message}")


_PRELOAD_KEY = pytest.StashKey[_ImagePreload]()


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A running cluster for the whole session; KUBECONFIG points at it while tests run."""
    config = request.config
    settings = ClusterSettings().model_copy(update=_SESSION_OPT_INS)
    previous = os.environ.get("KUBECONFIG")
    plane: LocalControlPlane | None = None
    if settings.use_existing:
        handle = _existing_cluster(settings)
        handle.kubectl("get", "--raw", "/readyz")
    else:
        settings = settings.model_copy(update={"name": f"{_SESSION_PREFIX}{os.getpid()}", "state_dir": None})
        _reap_stale_sessions(settings)
        reason = unsupported_reason() if settings.real_node else _NODE_OPT_IN
        if reason is not None:
            if settings.real_node:
                _say(config, f"starting without a real node: {reason}")
            settings = settings.model_copy(update={"real_node": False})
            config.stash[_NO_NODE_KEY] = reason
        built = config.stash.get(_TOOLSET_KEY, None)
        if isinstance(built, BuildError):
            raise built
        toolset = built if built is not None else ensure_built(settings, lambda m: _say(config, m))
        plane = LocalControlPlane(settings, toolset, lambda m: _say(config, m))
        config.stash[_PLANE_KEY] = plane
        handle = plane.up()
        if settings.real_node and any(_uses(item, "real_node") for item in request.session.items):
            config.stash[_PRELOAD_KEY] = _ImagePreload(plane)
    config.stash[_CLUSTER_KEY] = handle
    os.environ["KUBECONFIG"] = str(handle.kubeconfig)
    try:
        yield handle
    finally:
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous
        preload = config.stash.get(_PRELOAD_KEY, None)
        if preload is not None:
            preload.wait(config)  # the node must not stop under an import
        if plane is not None:
            record = HostRecord.load() if settings.real_node else None
            plane.down()
            if not settings.keep_state:
                shutil.rmtree(settings.cluster_dir, ignore_errors=True)
            # A node that could not restore the host must fail the session, not pass silently.
            if record is not None and record.cluster == settings.name and HOST_RECORD.exists():
                raise RuntimeError(f"the real node left host state behind; see {HOST_RECORD}")


@pytest.fixture(scope="session")
def real_node(cluster: Cluster, request: pytest.FixtureRequest) -> LocalControlPlane:
    """The session cluster's control plane, which runs a real node (skips with the reason if not)."""
    reason = request.config.stash.get(_NO_NODE_KEY, None)
    if reason is not None:
        pytest.skip(reason)
    plane = request.config.stash.get(_PLANE_KEY, None)
    if plane is None:
        pytest.skip("the given cluster has no real node of this project")
    preload = request.config.stash.get(_PRELOAD_KEY, None)
    if preload is not None:
        preload.wait(request.config)  # what it could load is there; `images` loads (or names) the rest
    if not plane.runs_real_node():
        # This session started the node itself: a node that is gone is a failure, not an absence.
        pytest.fail("the session's real node is not running (see the component logs)")
    ready = cluster.kubectl(
        "get",
        "node",
        NODE_NAME,
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        check=False,
    )
    assert ready.stdout.strip() == "True", f"real node {NODE_NAME} is not Ready: {ready.stderr}"
    return plane


def _namespace_name(test_name: str) -> str:
    """``t-<test name trimmed>-<random>``: a valid, unique DNS label (at most 63 characters)."""
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower().removeprefix("test_")).strip("-")
    return f"t-{slug[:40].rstrip('-')}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (without waiting for it to vanish)."""
    name = _namespace_name(request.node.name)
    cluster.create_namespace(name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach each component's log tail to the report of a failed test that used the cluster."""
    report = yield
    handle = item.config.stash.get(_CLUSTER_KEY, None)
    if report.failed and handle is not None and _uses(item, "cluster"):
        for name, path in handle.log_files.items():
            report.sections.append((f"{name} log tail ({path})", log_tail(path)))
    return report
