"""bench_warmup.py --quick, so the script cannot rot: the baseline, one warm-up, both tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_warmup import COLUMNS, main

pytestmark = pytest.mark.slow


def test_quick_run_prints_the_baseline_and_the_warm_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--quick", "--demo-dir", str(tmp_path / "demo")])
    out = capsys.readouterr().out

    assert "| " + " | ".join(COLUMNS) + " |" in out
    lines = out.splitlines()
    # Each row twice (as measured, then in the table), then once in the comparison.
    assert sum(line.startswith("| 0 |") for line in lines) == 3
    assert sum(line.startswith("| 2 |") for line in lines) == 3
    assert "| 0 | +0.0 | 1.00 | 1.00 |" in out
