"""Static against continuous GPT batching over real HTTP, with release-size demo weights, same run.

``gpt-sovits-server --demo --demo-size release`` processes (random GPT and SoVITS weights at
the official sizes, so the GPT stage costs what a real voice's does) run side by side with the
same settings except ``--scheduler``: ``static`` (a batch decodes until its last sentence ends),
with ``--sovits-order arrival`` (SoVITS work first come, first served): today's server, the
baseline; and ``continuous`` (sentences join the running decode at every step) with the default
playback order of the SoVITS queue (a stream's first audio first). Both have
``--max-tokens-per-sentence`` set, because the random GPT never emits EOS.

At each concurrency level the same mixed workload (the same bodies and seeds) goes to the static
server, then to the continuous one: half short requests (one short sentence) and half long ones
(five sentences in zh, three in en, as cut5 splits them), two voices, pcm, a new seed per
request so nothing is served from the cache. Measured: requests/s, P50/P95 latency of all
requests and P95 of the short ones. Then 8 concurrent streams (the same mix) per server: P50/P95
time to the first audio byte and the time each listener hears silence after it (played as
received), with token chunks (16 ids, the API's default, the first 8: the server's
``--first-chunk-tokens``) and, on the static server, with a chunk per sentence (today's
per-sentence streaming, the first-audio baseline); a third server, continuous with the SoVITS
queue first come first served, separates the two changes, and a fourth, continuous with
``--first-chunk-tokens 16`` (every chunk 16 ids), shows what the shorter first chunk does.

Run from the repository root: ``python -m bench.bench_scheduler`` (about 20 minutes on two
shared cores); ``--quick`` is a smoke run with small demo weights (seconds once the four servers
are up, about a minute in all).

This script and ``bench_server.py`` share their server and client helpers (``bench_server``
compares batching off/static/continuous with small weights and one uniform workload; this one
needs release weights, a mixed workload with per-class percentiles, and the issue's targets).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bench_server import BenchSettings, DemoServer, Samples, demo_servers, drive, quantile_ms

SHORT_TEXTS = ("你好。", "Hello there.", "谢谢你。", "See you soon.")
LONG_TEXTS = (
    "今天天气很好，我们一起去公园散步吧。这个周末你有什么打算？请把窗户打开，让新鲜空气进来。",
    "The quick brown fox jumps over the lazy dog. We will meet again at seven tonight. "
    "Please call me back when you have a moment.",
)
SPEAKERS = ("demo", "demo-free")
STATIC = "static"
CONTINUOUS = "continuous"
CONTINUOUS_ARRIVAL = "continuous-arrival"
CONTINUOUS_FIRST_16 = "continuous-first-16"
#: The columns of one whole-request row, in table order.
COLUMNS = ("server", "clients", "requests", "req/s", "p50 ms", "p95 ms", "short p95 ms", "load avg")
STREAM_COLUMNS = (
    "server",
    "streams",
    "chunks",
    "requests",
    "ttfa p50 ms",
    "ttfa p95 ms",
    "stall p50 s",
    "stall p95 s",
    "load avg",
)
#: Targets of the issue: continuous at least this many times static's requests/s at 16 and 32
#: clients (short requests' P95 no worse), and streamed first audio at most this share of today's.
THROUGHPUT_TARGET = 1.5
TARGET_LEVELS = (16, 32)
TTFA_TARGET = 1 / 3


def body(index: int, *, seed: int, stream: bool = False, chunks: str = "fixed") -> dict[str, Any]:
    """Request ``index`` of the mixed workload: even ones short, odd ones long."""
    kind = "short" if index % 2 == 0 else "long"
    texts = SHORT_TEXTS if kind == "short" else LONG_TEXTS
    out: dict[str, Any] = {
        "text": texts[(index // 2) % len(texts)],
        "speaker_id": SPEAKERS[(index // 2) % len(SPEAKERS)],
        "format": "pcm",
        "seed": seed,
        "stream": stream,
        "kind": kind,  # the bench's own tag, taken off before sending
    }
    if stream:
        out["stream_chunks"] = chunks
    return out


def _sent(bodies: Sequence[dict[str, Any]]) -> list[dict[str, object]]:
    return [{k: v for k, v in b.items() if k != "kind"} for b in bodies]


def _by_kind(
    bodies: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, object]], dict[str, Samples], Callable[[dict[str, object]], Samples]]:
    """The bodies to send, one Samples per kind, and the picker ``drive`` records answers with
    (by seed: every body has its own)."""
    samples = {"short": Samples(), "long": Samples()}
    kinds = {b["seed"]: b["kind"] for b in bodies}
    return _sent(bodies), samples, lambda b: samples[kinds[b["seed"]]]


def measure_whole(server: DemoServer, clients: int, requests: int, seed_base: int) -> dict[str, Any]:
    """One row: ``requests`` whole requests of the mix, ``clients`` at a time."""
    sent, samples, pick = _by_kind([body(i, seed=seed_base + i) for i in range(requests)])
    wall = asyncio.run(drive(server.url, clients, sent, pick))
    every = samples["short"].latencies + samples["long"].latencies
    return {
        "server": server.name,
        "clients": clients,
        "requests": requests,
        "req/s": requests / wall,
        "p50 ms": quantile_ms(every, 0.50),
        "p95 ms": quantile_ms(every, 0.95),
        "short p95 ms": quantile_ms(samples["short"].latencies, 0.95),
        "load avg": os.getloadavg()[0],
    }


def measure_streams(
    server: DemoServer,
    streams: int,
    requests: int,
    chunks: str,
    seed_base: int,
    *,
    unmeasured_round: bool = True,
) -> dict[str, Any]:
    """One row: ``requests`` streamed requests of the mix, ``streams`` at a time, cut by ``chunks``.

    One unmeasured round of ``streams`` requests (other seeds) goes first unless
    ``unmeasured_round`` is False: a server's first streams meet shapes its start-up never ran
    (every oneDNN primitive is built at its first use), which costs a new server seconds that
    are not its steady state (``bench_warmup`` measures exactly those).
    """
    if unmeasured_round:
        warmup = [body(i, seed=seed_base - 1 - i, stream=True, chunks=chunks) for i in range(streams)]
        sent, _, pick = _by_kind(warmup)
        asyncio.run(drive(server.url, streams, sent, pick))
    bodies = [body(i, seed=seed_base + i, stream=True, chunks=chunks) for i in range(requests)]
    sent, samples, pick = _by_kind(bodies)
    asyncio.run(drive(server.url, streams, sent, pick))
    first = samples["short"].first_bytes + samples["long"].first_bytes
    stalls = samples["short"].stalls + samples["long"].stalls
    return {
        "server": server.name,
        "streams": streams,
        "chunks": chunks,
        "requests": requests,
        "ttfa p50 ms": quantile_ms(first, 0.50),
        "ttfa p95 ms": quantile_ms(first, 0.95),
        "stall p50 s": quantile_ms(stalls, 0.50) / 1000,
        "stall p95 s": quantile_ms(stalls, 0.95) / 1000,
        "load avg": os.getloadavg()[0],
    }


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:.0f}"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of measured rows."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def comparison(whole: Sequence[dict[str, Any]], streams: Sequence[dict[str, Any]]) -> list[str]:
    """Continuous against static at each level, the ratios, and each target's verdict."""
    lines = [
        "| clients | static req/s | continuous req/s | ratio | static short p95 ms | "
        "continuous short p95 ms | ratio | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for clients in sorted({row["clients"] for row in whole}):
        static = next(r for r in whole if r["clients"] == clients and r["server"] == STATIC)
        cont = next(r for r in whole if r["clients"] == clients and r["server"] == CONTINUOUS)
        speedup = cont["req/s"] / static["req/s"]
        short = cont["short p95 ms"] / static["short p95 ms"]
        target = "–"
        if clients in TARGET_LEVELS:
            target = _verdict(speedup >= THROUGHPUT_TARGET and short <= 1.0)
        lines.append(
            f"| {clients} | {static['req/s']:.2f} | {cont['req/s']:.2f} | {speedup:.2f}x | "
            f"{static['short p95 ms']:.0f} | {cont['short p95 ms']:.0f} | {short:.2f}x | {target} |"
        )
    today = next((r for r in streams if r["server"] == STATIC and r["chunks"] == "sentence"), None)
    if today is not None:
        header = "| streams | server, chunks | ttfa p50 ms | ttfa p95 ms | p50 / today's | p95 / today's |"
        lines += ["", header]
        lines.append("|---|---|---|---|---|---|")
        for row in streams:
            p50, p95 = row["ttfa p50 ms"] / today["ttfa p50 ms"], row["ttfa p95 ms"] / today["ttfa p95 ms"]
            name = f"{row['server']}, {row['chunks']}"
            if row is today:
                name += " (today's, baseline)"
            elif row["server"] == CONTINUOUS:
                verdicts = f"p50 {_verdict(p50 <= TTFA_TARGET)}, p95 {_verdict(p95 <= TTFA_TARGET)}"
                name += f" (target <= 1/3: {verdicts})"
            lines.append(
                f"| {row['streams']} | {name} | {row['ttfa p50 ms']:.0f} | {row['ttfa p95 ms']:.0f} | "
                f"{p50:.2f} | {p95:.2f} |"
            )
    return lines


@dataclass(frozen=True)
class Plan:
    """What one run measures."""

    concurrency: tuple[int, ...]
    requests_per_client: int
    min_requests: int
    streams: int
    stream_requests: int


Rows = list[dict[str, Any]]


def run(settings: BenchSettings, plan: Plan, log_dir: Path) -> tuple[Rows, Rows]:
    """Start the four servers, measure every level on the first two (static first, same
    workload), then the streams on all four."""
    whole: Rows = []
    streams: Rows = []
    batching = {
        STATIC: (32, "static"),
        CONTINUOUS: (32, "continuous"),
        CONTINUOUS_ARRIVAL: (32, "continuous"),
        CONTINUOUS_FIRST_16: (32, "continuous"),
    }
    # The baseline is today's server: static batching, and SoVITS work first come, first served;
    # the third server tells the SoVITS queue's order apart from the scheduler, the fourth cuts a
    # stream's first chunk as long as the rest (streams only).
    arrival = ("--sovits-order", "arrival")
    extra = {
        STATIC: arrival,
        CONTINUOUS_ARRIVAL: arrival,
        CONTINUOUS_FIRST_16: ("--first-chunk-tokens", "16"),
    }
    with demo_servers(settings, batching, log_dir, extra) as servers:
        for level, clients in enumerate(plan.concurrency):
            requests = max(plan.min_requests, clients * plan.requests_per_client)
            for server in servers[:2]:
                row = measure_whole(server, clients, requests, seed_base=level * 100_000)
                whole.append(row)
                print(table([row], COLUMNS).splitlines()[-1], flush=True)
        cases = [
            (servers[0], "sentence"),
            (servers[0], "fixed"),
            (servers[2], "fixed"),
            (servers[3], "fixed"),
            (servers[1], "fixed"),
        ]
        for server, chunks in cases:
            row = measure_streams(server, plan.streams, plan.stream_requests, chunks, seed_base=800_000)
            streams.append(row)
            print(table([row], STREAM_COLUMNS).splitlines()[-1], flush=True)
    return whole, streams


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, run, print the tables and the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--concurrency", type=int, nargs="*", default=[1, 8, 16, 32], help="client levels; none: streams only"
    )
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--min-requests", type=int, default=6, help="fewest whole requests per level")
    parser.add_argument("--tokens", type=int, default=50, help="--max-tokens-per-sentence (50 ids = 2 s)")
    parser.add_argument("--streams", type=int, default=8, help="concurrent streams")
    parser.add_argument("--stream-requests", type=int, default=16, help="streamed requests per case")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--max-batch-delay-ms", type=float, default=10.0)
    parser.add_argument("--demo-size", choices=("small", "release"), default="release")
    parser.add_argument(
        "--demo-dir", type=Path, default=Path(tempfile.gettempdir()) / "gsv-bench-demo-bundle"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: small weights, 4 ids, 1 and 2 clients, 2 streams"
    )
    args = parser.parse_args(argv)
    if args.quick:
        settings = BenchSettings(args.demo_dir, tokens=4, torch_threads=1, demo_size="small")
        plan = Plan((1, 2), requests_per_client=2, min_requests=2, streams=2, stream_requests=2)
    else:
        settings = BenchSettings(
            args.demo_dir, args.tokens, args.torch_threads, args.max_batch_delay_ms, args.demo_size
        )
        plan = Plan(
            tuple(args.concurrency),
            args.requests_per_client,
            args.min_requests,
            args.streams,
            args.stream_requests,
        )
    print(f"load average at start {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    print(f"settings: {settings.describe().replace('2 sentences per request', 'short 1 / long 3 sentences')}")
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as logs:
        whole, streams = run(settings, plan, Path(logs))
    print()
    print(table(whole, COLUMNS))
    print()
    print(table(streams, STREAM_COLUMNS))
    print()
    print("\n".join(comparison(whole, streams)))
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
