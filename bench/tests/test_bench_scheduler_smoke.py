"""bench_scheduler.py --quick, so the script cannot rot: both servers, every table, the verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_scheduler import COLUMNS, STREAM_COLUMNS, main

pytestmark = pytest.mark.slow


def test_quick_run_prints_both_servers_and_the_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--quick", "--demo-dir", str(tmp_path / "demo")])
    out = capsys.readouterr().out

    assert "| " + " | ".join(COLUMNS) + " |" in out
    assert "| " + " | ".join(STREAM_COLUMNS) + " |" in out
    rows = [line for line in out.splitlines() if line.startswith(("| static |", "| continuous |"))]
    # Each whole-request row twice (as measured, then in the table): 2 levels x 2 servers;
    # stream rows likewise: 3 cases (and one of the third server's).
    assert len(rows) == 2 * (2 * 2 + 3)
    assert sum(line.startswith("| continuous-arrival |") for line in out.splitlines()) == 2
    assert "| 2 | " in out  # the comparison's row for 2 clients
    assert "static, sentence (today's, baseline)" in out
    assert "continuous, fixed (target <= 1/3" in out
