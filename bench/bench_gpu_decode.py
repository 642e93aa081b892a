"""Continuous GPT decode on a GPU: tokens/s of DecodeSlots, fp16 against fp32, CUDA graphs against eager.

Release-size random GPT weights (``T2SConfig()``, the official v2 sizes: 24 layers x 512, 16
heads, built by ``gpt_sovits.t2s.demo.random_t2s``; EOS gets a zero logit so that rows decode
their full length). For each batch (1, 8 and 32 rows) the rows are admitted together into one
:class:`~gpt_sovits.t2s.slots.DecodeSlots` and stepped until every row ends, with the eager step
or with :class:`~gpt_sovits.t2s.graphs.GraphedStep` (each step padded to a (rows, KV columns)
bucket and replayed as a CUDA graph). Every figure is printed beside its baseline from the same
run: fp32, eager, same batch.

Columns: ``decode tok/s`` counts the ids sampled by decode steps over their wall time (each step
synchronised), leaving out the steps in which a bucket was captured (their time is the
``capture s`` column); ``prefill ms`` is the packed prefill of the batch; ``peak MiB`` is
``torch.cuda.max_memory_allocated`` over the run, weights included; ``graphs`` says how the steps
ran (captures, padded and eager steps, or "fallback" where every step ran eagerly).

Public reference point: about 886 tokens/s at small batch on an H200 for the fastest GPT-SoVITS
engine. Not measured here yet: this script's CUDA paths have not been run on a GPU.

Run from the repository root: ``python -m bench.bench_gpu_decode`` on a CUDA machine. On a CPU,
``--quick`` is a smoke run (small demo weights, a few ids, fp32 only; the graphed mode falls back
to the eager step there, and says so).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from bench.bench_t2s import make_requests
from gpt_sovits.t2s.config import T2SConfig
from gpt_sovits.t2s.demo import DEMO_CONFIG, random_t2s
from gpt_sovits.t2s.graphs import GraphedStep
from gpt_sovits.t2s.model import Text2SemanticDecoder
from gpt_sovits.t2s.slots import DecodeSlots

REFERENCE_TOKENS_PER_S = 886.0  # fastest GPT-SoVITS engine, small batch, H200 (public figure)
COLUMNS = ("mode", "batch", "decode tok/s", "vs fp32 eager", "prefill ms", "capture s", "peak MiB", "graphs")
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16}


@dataclass(frozen=True)
class Result:
    """One (precision, step, batch) measurement: the best of the repeats."""

    precision: str
    graphs: bool
    batch: int
    tokens_per_s: float
    prefill_ms: float
    capture_s: float
    peak_mib: float | None
    graph_note: str

    @property
    def mode(self) -> str:
        """e.g. ``fp16 graphs``."""
        return f"{self.precision} {'graphs' if self.graphs else 'eager'}"


def make_model(config: T2SConfig, device: torch.device, dtype: torch.dtype) -> Text2SemanticDecoder:
    """Random weights of ``config``'s sizes; a zero EOS logit keeps rows going to their budget."""
    model = random_t2s(config, seed=0)
    with torch.no_grad():
        model.ar_predict_layer.weight[model.config.EOS].zero_()
    return model.to(device=device, dtype=dtype)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _graph_note(graphed: GraphedStep | None) -> str:
    if graphed is None:
        return "-"
    stats = graphed.stats
    if stats.padded == 0:
        return f"fallback: all {stats.eager} steps eager ({graphed.model.device.type})"
    return f"{stats.captures} captured, {stats.padded} replayed, {stats.eager} eager"


def decode_once(
    model: Text2SemanticDecoder, batch: int, tokens: int, graphs: bool
) -> tuple[float, float, float, float, str]:
    """One run: (decode ids, decode seconds, prefill seconds, capture seconds, graph note)."""
    device = model.device
    graphed = GraphedStep(model) if graphs else None
    slots = DecodeSlots(model, batch, graphs=graphed if graphed is not None else False)
    requests = make_requests(batch, tokens, seed=batch)
    _sync(device)
    start = time.perf_counter()
    slots.admit(list(enumerate(requests)))
    _sync(device)
    prefill_s = time.perf_counter() - start
    ids = decode_s = capture_s = 0.0
    while slots.rows:
        rows = slots.rows
        captures = graphed.stats.captures if graphed is not None else 0
        start = time.perf_counter()
        slots.step()
        _sync(device)
        elapsed = time.perf_counter() - start
        if graphed is not None and graphed.stats.captures != captures:
            capture_s += elapsed  # a capture's warm-up and recording, not a steady-state step
        else:
            ids += rows
            decode_s += elapsed
    return ids, decode_s, prefill_s, capture_s, _graph_note(graphed)


def measure(
    model: Text2SemanticDecoder, precision: str, graphs: bool, batch: int, tokens: int, repeats: int
) -> Result:
    """Best tokens/s over ``repeats`` runs after an untimed one, with the peak memory of all."""
    device = model.device
    # Kernels and oneDNN primitives are built at the first use of each shape: not part of a rate.
    decode_once(model, batch, tokens, graphs)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    best: tuple[float, float, float, str] | None = None
    for _ in range(repeats):
        ids, decode_s, prefill_s, capture_s, note = decode_once(model, batch, tokens, graphs)
        rate = ids / decode_s if decode_s else 0.0
        if best is None or rate > best[0]:
            best = (rate, prefill_s, capture_s, note)
    assert best is not None
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    rate, prefill_s, capture_s, note = best
    return Result(precision, graphs, batch, rate, prefill_s * 1000, capture_s, peak, note)


def table(results: Sequence[Result]) -> str:
    """A Markdown table; each row's ratio is against fp32 eager at the same batch."""
    baseline = {r.batch: r.tokens_per_s for r in results if r.precision == "fp32" and not r.graphs}
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in results:
        base = baseline.get(r.batch)
        ratio = f"{r.tokens_per_s / base:.2f}x" if base else "-"
        peak = "n/a (CPU)" if r.peak_mib is None else f"{r.peak_mib:,.0f}"
        cells = [
            r.mode,
            str(r.batch),
            f"{r.tokens_per_s:,.1f}",
            ratio,
            f"{r.prefill_ms:,.1f}",
            f"{r.capture_s:.2f}",
            peak,
            r.graph_note,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, measure every mode and batch, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--tokens", type=int, default=200, help="new ids per row")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default 2, --quick 1)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: small demo weights, 6 ids per row, 1 repeat"
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    # One thread for the smoke run: on a shared machine spinning OpenMP workers make tiny ops slow.
    threads = args.threads or (1 if args.quick else 2)
    torch.set_num_threads(threads)
    config = DEMO_CONFIG if args.quick else T2SConfig()
    tokens, repeats = (6, 1) if args.quick else (args.tokens, args.repeats)
    # Half precision needs a GPU in this project (gpt_sovits.device refuses it on CPU).
    precisions = ["fp32", "fp16"] if device.type == "cuda" else ["fp32"]
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {threads} threads"
    print(
        f"torch {torch.__version__} on {where}; GPT {config.n_layer} layers x {config.hidden_dim}, "
        f"{config.head} heads, random weights; {tokens} new ids per row, best of {repeats}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"public reference point: about {REFERENCE_TOKENS_PER_S:.0f} tokens/s at small batch on an H200")
    results: list[Result] = []
    for precision in precisions:
        model = make_model(config, device, PRECISIONS[precision])
        for graphs in (False, True):
            for batch in args.batches:
                result = measure(model, precision, graphs, batch, tokens, repeats)
                results.append(result)
                print(table(results).splitlines()[-1], flush=True)
        del model
    print()
    print(table(results))


if __name__ == "__main__":
    main()
