"""HTTP serving speed of ``gpt-sovits-server --demo``: no, static and continuous batching, same run.

Three demo servers run as subprocesses with identical settings except ``--max-batch-size`` and
``--scheduler``: 1 with the static scheduler (every request decoded alone, the baseline), 32 static
(whole batches) and 32 continuous (sentences join the running decode at every step, the default).
For each concurrency level (1, 8 and 32 clients) the same workload goes to each server in turn:

- whole requests (``POST /api/v1/tts``, pcm, a new seed each, so nothing comes from the cache):
  requests/s, audio-seconds/s and P50/P90/P99 latency;
- streamed requests (``stream: true``, pcm; ``--stream-chunks`` picks token chunks of 16 ids, the
  default, or a chunk per sentence): P50/P90 time to the first audio byte.

Then, one request at a time, the latency of a fixed-seed request served from the cache against
the same request with new seeds (a cache miss). The demo weights are small and random (the audio
is not speech): the figures describe the server's overhead and batching, not a trained model.

Run: ``python bench/bench_server.py [--concurrency 1 8 32] [--tokens 25] [--torch-threads 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# Two sentences per request, so a request is two GPT decodes and the stream has two chunks.
TEXTS = [
    "今天天气很好。我们一起去公园散步吧。",
    "Hello there, this is a short sentence. Please call me back.",
    "这个周末你有什么打算？请把窗户打开。",
    "The quick brown fox jumps over the dog. We will meet again at seven.",
]
SPEAKERS = ("demo", "demo-free")
#: The columns of one measured row, in table order.
COLUMNS = (
    "server",
    "clients",
    "requests",
    "req/s",
    "audio s/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "ttfb p50 ms",
    "ttfb p90 ms",
    "load avg",
)
_BYTES_PER_SAMPLE = 2  # pcm: 16-bit mono


@dataclass(frozen=True)
class BenchSettings:
    """What both servers share (the batching size is the only difference)."""

    demo_dir: Path
    tokens: int = 25
    torch_threads: int = 2
    max_batch_delay_ms: float = 10.0
    #: ``--demo-size``: small (fast, the default) or release (the official GPT and SoVITS sizes).
    demo_size: str = "small"

    def describe(self) -> str:
        return (
            f"{self.demo_size} demo weights, CPU fp32, {self.torch_threads} torch thread(s), "
            f"max {self.tokens} semantic ids per sentence, 2 sentences per request, "
            f"max batch delay {self.max_batch_delay_ms:g} ms, "
            "pcm output, cache on (new seeds: every measured request is a miss)"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoServer:
    """A ``gpt-sovits-server --demo`` subprocess."""

    name: str
    url: str
    popen: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout_s:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def _server_argv(
    settings: BenchSettings, port: int, max_batch_size: int, scheduler: str, extra: Sequence[str] = ()
) -> list[str]:
    # The console script's module, run by this interpreter (works from any checkout on PYTHONPATH).
    return [
        sys.executable,
        "-m",
        "voice_server",
        *("--demo", "--demo-dir", str(settings.demo_dir), "--host", "127.0.0.1", "--port", str(port)),
        *("--demo-size", settings.demo_size),
        *("--max-tokens-per-sentence", str(settings.tokens)),
        *("--max-batch-size", str(max_batch_size), "--scheduler", scheduler),
        *("--max-batch-delay-ms", str(settings.max_batch_delay_ms)),
        *("--torch-threads", str(settings.torch_threads)),
        *("--log-level", "WARNING", "--drain-delay-s", "0"),
        *extra,
    ]


@contextmanager
def demo_servers(
    settings: BenchSettings,
    batching: dict[str, tuple[int, str]],
    log_dir: Path,
    extra_args: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[list[DemoServer]]:
    """Start one demo server per ``name: (max_batch_size, scheduler)`` (plus its ``extra_args``),
    all ready; stop them on exit."""
    servers: list[DemoServer] = []
    try:
        for name, (size, scheduler) in batching.items():
            port = _free_port()
            log = log_dir / f"server-{name.replace(' ', '-')}.log"
            with log.open("wb") as sink:
                popen = subprocess.Popen(
                    _server_argv(settings, port, size, scheduler, (extra_args or {}).get(name, ())),
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            servers.append(DemoServer(name, f"http://127.0.0.1:{port}", popen, log))
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


def _body(index: int, *, seed: int, stream: bool = False, stream_chunks: str = "fixed") -> dict[str, Any]:
    body: dict[str, Any] = {
        "text": TEXTS[index % len(TEXTS)],
        "speaker_id": SPEAKERS[index % len(SPEAKERS)],
        "format": "pcm",
        "seed": seed,
        "stream": stream,
    }
    if stream:
        body["stream_chunks"] = stream_chunks
    return body


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    first_bytes: list[float] = field(default_factory=list)
    #: Per stream: seconds its listener heard silence after the first audio (played as received).
    stalls: list[float] = field(default_factory=list)
    audio_s: float = 0.0


async def _whole(http: httpx.AsyncClient, body: dict[str, object], samples: Samples) -> None:
    started = time.perf_counter()
    response = await http.post("/api/v1/tts", json=body)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    samples.latencies.append(elapsed)
    samples.audio_s += len(response.content) / _BYTES_PER_SAMPLE / int(response.headers["x-sample-rate"])


async def _streamed(http: httpx.AsyncClient, body: dict[str, object], samples: Samples) -> None:
    started = time.perf_counter()
    async with http.stream("POST", "/api/v1/tts", json=body) as response:
        response.raise_for_status()
        bytes_per_s = _BYTES_PER_SAMPLE * int(response.headers["x-sample-rate"])
        first: float | None = None
        played_until = stalled = 0.0  # the listener's clock: audio plays from the first byte on
        async for chunk in response.aiter_bytes():
            if not chunk:
                continue
            now = time.perf_counter() - started
            if first is None:
                first = played_until = now
            elif now > played_until:
                stalled += now - played_until
                played_until = now
            played_until += len(chunk) / bytes_per_s
        if first is None:
            raise RuntimeError("empty stream")
        samples.first_bytes.append(first)
        samples.stalls.append(stalled)


async def drive(
    url: str,
    clients: int,
    bodies: Sequence[dict[str, object]],
    samples: Samples | Callable[[dict[str, object]], Samples],
) -> float:
    """Send ``bodies`` from ``clients`` concurrent clients; the wall time it took.

    Each answer is recorded in ``samples``, or in the samples ``samples(body)`` picks for its body.
    """
    pick = samples if callable(samples) else (lambda _body: samples)
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            await (_streamed if body["stream"] else _whole)(http, body, pick(body))

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return time.perf_counter() - started


def quantile_ms(values: Sequence[float], q: float) -> float:
    """The q-quantile (0–1) in ms, nearest rank; one value is its own every quantile."""
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank] * 1000


def measure(
    url: str,
    name: str,
    clients: int,
    requests: int,
    streams: int,
    seed_base: int = 0,
    stream_chunks: str = "fixed",
) -> dict[str, Any]:
    """One row: ``requests`` whole requests then ``streams`` streamed ones, ``clients`` at a time.

    Seeds start at ``seed_base`` and are new per request, so no answer comes from the cache;
    give every server the same ``seed_base`` for the same workload. Streams are cut by
    ``stream_chunks`` (the API's field: fixed, silence or sentence).
    """
    whole = Samples()
    bodies = [_body(i, seed=seed_base + i) for i in range(requests)]
    wall = asyncio.run(drive(url, clients, bodies, whole))
    streamed = Samples()
    stream_bodies = [
        _body(i, seed=seed_base + requests + i, stream=True, stream_chunks=stream_chunks)
        for i in range(streams)
    ]
    asyncio.run(drive(url, clients, stream_bodies, streamed))
    return {
        "server": name,
        "clients": clients,
        "requests": requests,
        "req/s": requests / wall,
        "audio s/s": whole.audio_s / wall,
        "p50 ms": quantile_ms(whole.latencies, 0.50),
        "p90 ms": quantile_ms(whole.latencies, 0.90),
        "p99 ms": quantile_ms(whole.latencies, 0.99),
        "ttfb p50 ms": quantile_ms(streamed.first_bytes, 0.50),
        "ttfb p90 ms": quantile_ms(streamed.first_bytes, 0.90),
        "load avg": os.getloadavg()[0],
    }


def cache_latency(url: str, repeats: int, seed_base: int) -> tuple[float, float]:
    """Median latency (ms) of a cache miss (new seeds) and of a hit (one fixed seed), one at a time."""
    misses, hits = Samples(), Samples()
    miss_bodies = [_body(0, seed=seed_base + i) for i in range(repeats)]
    asyncio.run(drive(url, 1, miss_bodies, misses))
    # The first of these is a miss that stores the audio; the rest are hits.
    hit_bodies = [_body(0, seed=seed_base - 1) for _ in range(repeats + 1)]
    asyncio.run(drive(url, 1, hit_bodies, hits))
    return statistics.median(misses.latencies) * 1000, statistics.median(hits.latencies[1:]) * 1000


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:.0f}"
    return str(value)


def table(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of measured rows."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


BASELINE = "batching off (max batch 1)"
BATCHING = "static batching (max batch 32)"
CONTINUOUS = "continuous batching (max batch 32)"


def main() -> None:
    """Start both servers, measure every concurrency level interleaved, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests-per-client", type=int, default=4, help="at least 16 requests per level")
    parser.add_argument("--tokens", type=int, default=25, help="semantic ids per sentence (cap)")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--max-batch-delay-ms", type=float, default=10.0)
    parser.add_argument("--cache-repeats", type=int, default=20)
    parser.add_argument(
        "--stream-chunks",
        choices=("fixed", "silence", "sentence"),
        default="fixed",
        help="how streams are cut: token chunks of 16 ids (fixed, the API's default) or per sentence",
    )
    parser.add_argument("--streams", type=int, help="streamed requests per level (default max(8, clients))")
    parser.add_argument(
        "--demo-dir", type=Path, default=Path(tempfile.gettempdir()) / "gsv-bench-demo-bundle"
    )
    args = parser.parse_args()
    settings = BenchSettings(args.demo_dir, args.tokens, args.torch_threads, args.max_batch_delay_ms)

    print(f"load average at start {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    print(f"settings: {settings.describe()}; streams cut by {args.stream_chunks}")
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-server-") as logs,
        demo_servers(
            settings,
            {BASELINE: (1, "static"), BATCHING: (32, "static"), CONTINUOUS: (32, "continuous")},
            Path(logs),
        ) as servers,
    ):
        for level, clients in enumerate(args.concurrency):
            requests = max(16, clients * args.requests_per_client)
            streams = args.streams or max(8, clients)
            for server in servers:  # the baseline first, then static, then continuous, same workload
                row = measure(
                    server.url,
                    server.name,
                    clients,
                    requests,
                    streams,
                    seed_base=level * 100_000,
                    stream_chunks=args.stream_chunks,
                )
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
        cache_rows = []
        for server in servers:
            miss, hit = cache_latency(server.url, args.cache_repeats, seed_base=900_000)
            cache_rows.append((server.name, miss, hit))
    print()
    print(table(rows))
    print()
    print("| server | cache miss p50 ms | cache hit p50 ms |")
    print("|---|---|---|")
    for name, miss, hit in cache_rows:
        print(f"| {name} | {miss:.1f} | {hit:.1f} |")
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
