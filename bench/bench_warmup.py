"""A new server's first streams: warm-up of one sentence per speaker against the stream warm-up.

A pod the autoscaler adds serves its first streams right after ``/ready``. Those streams run
shapes a lone warm-up sentence never ran (GPT batches and packed prefills of several rows, token
chunk windows), and on the CPU oneDNN prepares each shape's kernels at its first use. This
benchmark starts ``gpt-sovits-server --demo --demo-size release`` with ``--warmup-streams 0``
(one short sentence per speaker only: the baseline) and then with ``--warmup-streams N``, one
server at a time on an otherwise idle machine, and for each measures the seconds from process
start to ``/ready``, then the time to first audio of its first ``--stream-requests`` streamed
requests (``--streams`` at a time, the mixed workload of ``bench_scheduler``), then of a second
round on the same, now warm, server (the steady state either server reaches).

Run from the repository root: ``python -m bench.bench_warmup`` (about 5 minutes on two cores);
``--quick`` is a smoke run with small weights.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from bench.bench_scheduler import measure_streams, table
from bench.bench_server import BenchSettings, demo_servers
from gpt_sovits.demo import DemoSize, ensure_demo_bundle

COLUMNS = (
    "warmup streams",
    "ready s",
    "first ttfa p50 ms",
    "first ttfa p95 ms",
    "warm ttfa p50 ms",
    "warm ttfa p95 ms",
    "load avg",
)


def measure(
    settings: BenchSettings, warmup_streams: int, streams: int, requests: int, log_dir: Path
) -> dict[str, Any]:
    """Start one server alone, time it to ready, then its first and its second round of streams."""
    extra = {"server": ("--warmup-streams", str(warmup_streams))}
    started = time.monotonic()
    with demo_servers(settings, {"server": (32, "continuous")}, log_dir, extra) as (server,):
        ready_s = time.monotonic() - started
        first = measure_streams(server, streams, requests, "fixed", 900_000, unmeasured_round=False)
        warm = measure_streams(server, streams, requests, "fixed", 950_000, unmeasured_round=False)
    return {
        "warmup streams": warmup_streams,
        "ready s": ready_s,
        "first ttfa p50 ms": first["ttfa p50 ms"],
        "first ttfa p95 ms": first["ttfa p95 ms"],
        "warm ttfa p50 ms": warm["ttfa p50 ms"],
        "warm ttfa p95 ms": warm["ttfa p95 ms"],
        "load avg": os.getloadavg()[0],
    }


def comparison(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Each server's first streams against the baseline's (the first row), as ratios."""
    base = rows[0]
    lines = ["| warmup streams | extra start-up s | first ttfa p50 / baseline | first ttfa p95 / baseline |"]
    lines.append("|---|---|---|---|")
    for row in rows:
        lines.append(
            f"| {row['warmup streams']} | {row['ready s'] - base['ready s']:+.1f} | "
            f"{row['first ttfa p50 ms'] / base['first ttfa p50 ms']:.2f} | "
            f"{row['first ttfa p95 ms'] / base['first ttfa p95 ms']:.2f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, measure the baseline and each warm-up, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--warmup-streams", type=int, nargs="+", default=[4, 8], help="values against the baseline's 0"
    )
    parser.add_argument("--tokens", type=int, default=50, help="--max-tokens-per-sentence (50 ids = 2 s)")
    parser.add_argument("--streams", type=int, default=8, help="concurrent streams")
    parser.add_argument("--stream-requests", type=int, default=8, help="streamed requests per round")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--demo-size", choices=("small", "release"), default="release")
    parser.add_argument(
        "--demo-dir", type=Path, default=Path(tempfile.gettempdir()) / "gsv-bench-demo-bundle"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: small weights, 4 ids, 2 streams")
    args = parser.parse_args(argv)
    if args.quick:
        settings = BenchSettings(args.demo_dir, tokens=4, torch_threads=1, demo_size="small")
        values, streams, requests = [2], 2, 2
    else:
        settings = BenchSettings(args.demo_dir, args.tokens, args.torch_threads, demo_size=args.demo_size)
        values, streams, requests = args.warmup_streams, args.streams, args.stream_requests
    # Written once before any clock starts: the servers' start-up is what is timed, not the bundle.
    ensure_demo_bundle(settings.demo_dir, size=cast(DemoSize, settings.demo_size))
    print(f"load average at start {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    print(f"settings: {settings.describe().replace('2 sentences per request', 'short 1 / long 3 sentences')}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-warmup-") as logs:
        for value in [0, *values]:
            rows.append(measure(settings, value, streams, requests, Path(logs)))
            print(table(rows[-1:], COLUMNS).splitlines()[-1], flush=True)
    print()
    print(table(rows, COLUMNS))
    print()
    print("\n".join(comparison(rows)))
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
