"""bench_server.py on a tiny workload, so the script cannot rot: one demo server, every column."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_server import COLUMNS, BenchSettings, cache_latency, demo_servers, measure, table

pytestmark = pytest.mark.slow


def test_measure_reports_every_column(tmp_path: Path) -> None:
    settings = BenchSettings(demo_dir=tmp_path / "demo", tokens=4, torch_threads=1)
    with demo_servers(settings, {"smoke": (2, "static")}, tmp_path) as servers:
        (server,) = servers
        row = measure(server.url, server.name, clients=2, requests=4, streams=2)
        miss, hit = cache_latency(server.url, repeats=2, seed_base=1000)

    assert set(row) == set(COLUMNS)
    assert row["server"] == "smoke"
    assert (row["clients"], row["requests"]) == (2, 4)
    numbers = [row[c] for c in COLUMNS[3:]]
    assert all(isinstance(n, float) and n > 0 for n in numbers), row
    assert row["p50 ms"] <= row["p90 ms"] <= row["p99 ms"]
    assert miss > 0
    assert hit > 0
    lines = table([row]).splitlines()
    assert len(lines) == 3
    assert lines[0].count("|") == len(COLUMNS) + 1
