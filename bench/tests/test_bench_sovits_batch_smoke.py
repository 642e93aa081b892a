"""bench_sovits_batch.py --quick, so the script cannot rot: one row, a finite speed-up."""

from __future__ import annotations

import re

import pytest

from bench.bench_sovits_batch import main

pytestmark = pytest.mark.slow


def test_quick_run_prints_a_row_per_length_and_batch(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--quick", "--threads", "1"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\| \d+ \| \d+ \|", line)]
    assert len(rows) == 1
    ids, batch, single, batched, speedup = (cell.strip() for cell in rows[0].strip("|").split("|"))
    assert (ids, batch) == ("2", "2")
    assert float(single) > 0
    assert float(batched) > 0
    assert float(speedup.rstrip("x")) > 0
