"""scripts/pytest-split.sh, run for real on small generated test folders, and the split it relies on:
no test outside the cluster's session uses the cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "pytest-split.sh"
REPO = SCRIPT.parents[1]

INI = """\
[pytest]
markers =
    cluster: needs the cluster
addopts = -p no:cacheprovider
"""


def _suite(tmp_path: Path, tests: str) -> Path:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text(INI)
    (suite / "test_suite.py").write_text(textwrap.dedent(tests))
    return suite


def _split(suite: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GSV_SPLIT_LOG": str(suite / "cluster.log")}
    return subprocess.run(
        [str(SCRIPT), sys.executable, *args],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cluster_tests_run_beside_the_others_and_their_log_follows(tmp_path: Path) -> None:
    # Each half waits for a file the other half writes: only sessions that overlap both pass.
    suite = _suite(
        tmp_path,
        f"""
        import time
        from pathlib import Path
        import pytest

        def _meet(mine: str, theirs: str) -> None:
            Path({str(tmp_path)!r}, mine).touch()
            deadline = time.monotonic() + 30
            while not Path({str(tmp_path)!r}, theirs).exists():
                assert time.monotonic() < deadline, "the other session never ran meanwhile"
                time.sleep(0.05)

        @pytest.mark.cluster
        def test_cluster_side():
            _meet("cluster", "rest")

        def test_rest_side():
            _meet("rest", "cluster")
        """,
    )
    result = _split(suite)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "run in the background" in out
    # The other session's summary comes first, then the cluster session's whole log.
    rest_summary = out.index("1 passed, 1 deselected")
    cluster_header = out.index("==> the cluster's tests (exit code 0):")
    assert rest_summary < cluster_header < out.rindex("1 passed, 1 deselected")


def test_a_failing_cluster_test_fails_the_run_and_is_shown(tmp_path: Path) -> None:
    suite = _suite(
        tmp_path,
        """
        import pytest

        @pytest.mark.cluster
        def test_cluster_breaks():
            assert False, "broken on the cluster"

        def test_rest_passes():
            pass
        """,
    )
    result = _split(suite)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "broken on the cluster" in result.stdout


def test_a_failing_other_test_keeps_its_exit_code_after_the_cluster_ends(tmp_path: Path) -> None:
    suite = _suite(
        tmp_path,
        """
        import pytest

        @pytest.mark.cluster
        def test_cluster_passes():
            pass

        def test_rest_breaks():
            assert False
        """,
    )
    result = _split(suite)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "==> the cluster's tests (exit code 0):" in result.stdout


def test_a_path_with_one_kind_of_test_passes_and_a_mark_runs_as_one_session(tmp_path: Path) -> None:
    suite = _suite(tmp_path, "def test_only_rest():\n    pass\n")
    only_rest = _split(suite)
    # The cluster half collected nothing (pytest's exit code 5): that is not a failure.
    assert only_rest.returncode == 0, only_rest.stdout + only_rest.stderr
    assert "(exit code 5)" in only_rest.stdout
    marked = _split(suite, "-m", "not cluster")
    assert marked.returncode == 0, marked.stdout + marked.stderr
    assert "background" not in marked.stdout
    assert "1 passed" in marked.stdout


PLUGIN = """\
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session):
    # Count, then stop before anything (the cluster's build among it) starts.
    using = sum("cluster" in getattr(item, "fixturenames", ()) for item in session.items)
    print(f"USING-CLUSTER {using} OF {len(session.items)}")
    pytest.exit("counted", returncode=0)
"""


def _count(tmp_path: Path, mark: str) -> tuple[int, int]:
    (tmp_path / "split_count.py").write_text(PLUGIN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "split_count", "-m", mark, "e2e"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("USING-CLUSTER")), None)
    assert line is not None, result.stdout + result.stderr
    _, using, _, total = line.split()
    return int(using), int(total)


def test_no_test_outside_the_cluster_session_uses_the_cluster(tmp_path: Path) -> None:
    using, total = _count(tmp_path, "not cluster")
    assert total > 0
    assert using == 0
    in_cluster, cluster_total = _count(tmp_path, "cluster")
    assert 0 < in_cluster <= cluster_total
