"""bench_gpu_decode.py --quick, so the script cannot rot: every mode and batch, the baseline
ratios; on CPU the graphed mode reports its fallback, on a GPU its captures."""

from __future__ import annotations

import re

import pytest
import torch

from bench.bench_gpu_decode import COLUMNS, main

pytestmark = pytest.mark.slow


def _rows(out: str) -> list[list[str]]:
    """The final table's result rows, as cells."""
    table = out[out.index("| " + " | ".join(COLUMNS) + " |") :]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def _rate(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_quick_run_on_cpu_measures_both_modes_and_reports_the_fallback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--quick", "--device", "cpu"])
    out = capsys.readouterr().out

    assert "886 tokens/s" in out
    rows = _rows(out)
    assert [(r[0], r[1]) for r in rows] == [
        (mode, batch) for mode in ("fp32 eager", "fp32 graphs") for batch in ("1", "8", "32")
    ]
    for mode, _, rate, ratio, _, capture, peak, graphs in rows:
        assert _rate(rate) > 0
        assert re.fullmatch(r"\d+\.\d\dx", ratio)
        assert peak == "n/a (CPU)"
        assert capture == "0.00"
        if mode == "fp32 eager":
            assert (ratio, graphs) == ("1.00x", "-")
        else:  # 6 ids per row: 5 decode steps, none of them padded on a CPU
            assert graphs == "fallback: all 5 steps eager (cpu)"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_quick_run_on_a_gpu_captures_graphs_in_fp32_and_fp16(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--quick", "--device", "cuda"])
    rows = _rows(capsys.readouterr().out)
    assert {r[0] for r in rows} == {"fp32 eager", "fp32 graphs", "fp16 eager", "fp16 graphs"}
    for mode, _, rate, _, _, _, peak, graphs in rows:
        assert _rate(rate) > 0
        assert _rate(peak) > 0
        if mode.endswith("graphs"):
            assert re.fullmatch(r"[1-9]\d* captured, 5 replayed, 0 eager", graphs), graphs
