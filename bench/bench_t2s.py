"""T2S decoding speed on CPU: tokens/s of the KV-cache paths next to the straightforward loops.

Default v2 sizes (512 wide, 16 heads, 24 layers), random weights, fp32, 2 threads. Run:

    python bench/bench_t2s.py            # fp32 at batch 1, 8 and 32
    python bench/bench_t2s.py --bf16     # plus the bf16-weights CPU mode

Each row is printed next to baselines measured in the same run:
- "uncached loop": recompute the whole sequence at every step, one request at a time;
- "sequential KV": the KV-cache loop, one request at a time (what batching has to beat);
- "matmul cap": the bare weight matmuls of one decode step at that batch size, no attention, no
  sampling: the ceiling on this machine at this moment.
"e2e" counts prefill and decode; "decode" counts the decode loop only; "per CPU-s" divides by the
process CPU time instead of wall time (stable on a shared machine; ideal wall rate with N idle
cores ≈ N × that). Every figure is the best of ``--repeats`` runs, because the machine may be
shared (its load average is printed).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import cast

import torch

from gpt_sovits.t2s.config import T2SConfig
from gpt_sovits.t2s.decode import (
    DecodeRequest,
    DecodeResult,
    DecodeStats,
    SamplingParams,
    decode_batch,
    decode_uncached,
)
from gpt_sovits.t2s.demo import random_t2s
from gpt_sovits.t2s.model import Block, Text2SemanticDecoder

TARGETS = {("fp32", 1): 22.0, ("fp32", 8): 80.0, ("fp32", 32): 250.0, ("bf16", 1): 40.0}


def make_model(dtype: torch.dtype) -> Text2SemanticDecoder:
    """Random full-size decoder; EOS gets a zero logit so every row decodes its full length."""
    model = random_t2s(T2SConfig(), seed=0)
    with torch.no_grad():
        model.ar_predict_layer.weight[model.config.EOS].zero_()
    return model.to(dtype)


def make_requests(count: int, new_tokens: int, seed: int = 0) -> list[DecodeRequest]:
    """Requests of different text lengths (30-70 phones), each with a 3 s prompt (75 ids)."""
    gen = torch.Generator().manual_seed(seed)
    requests = []
    for i in range(count):
        phones = int(torch.randint(30, 71, (1,), generator=gen))
        requests.append(
            DecodeRequest(
                phones=torch.randint(0, 732, (phones,), generator=gen),
                bert=torch.randn(1024, phones, generator=gen) * 0.5,
                prompt=torch.randint(0, 1024, (75,), generator=gen),
                sampling=SamplingParams(top_k=15, top_p=1.0, temperature=1.0, repetition_penalty=1.35),
                max_new_tokens=new_tokens,
                seed=i,
            )
        )
    return requests


Runner = Callable[[list[DecodeRequest], DecodeStats], list[DecodeResult]]


def best_rates(run: Runner, requests: list[DecodeRequest], repeats: int) -> tuple[float, float, float]:
    """Best (end-to-end, decode-only, per CPU-second) generated ids per second over ``repeats`` runs."""
    e2e = decode = per_cpu = 0.0
    for _ in range(repeats):
        stats = DecodeStats()
        start, cpu_start = time.perf_counter(), time.process_time()
        results = run(requests, stats)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        tokens = sum(r.steps for r in results)
        e2e = max(e2e, tokens / elapsed)
        per_cpu = max(per_cpu, tokens / cpu)
        if stats.decode_s:
            # The first id comes from the prefill, the others from decode steps.
            decode = max(decode, (tokens - len(results)) / stats.decode_s)
    return e2e, decode, per_cpu


@torch.inference_mode()
def matmul_cap(model: Text2SemanticDecoder, batch: int, steps: int = 20, repeats: int = 2) -> float:
    """Ids/s of the bare weight matmuls of a decode step (no attention, no sampling): the ceiling."""
    weights = [model.ar_predict_layer.weight]
    for layer in model.h.layers:
        block = cast(Block, layer)  # a ModuleList yields plain Modules to the type checker
        attn = block.self_attn
        weights += [attn.in_proj_weight, attn.out_proj.weight, block.linear1.weight, block.linear2.weight]
    inputs = {w.shape[1]: torch.randn(batch, w.shape[1], dtype=w.dtype) for w in weights}
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            for w in weights:
                torch.nn.functional.linear(inputs[w.shape[1]], w)
        best = min(best, time.perf_counter() - start)
    return batch * steps / best


def batched(model: Text2SemanticDecoder) -> Runner:
    """All requests together in one batched KV-cache decode."""
    return lambda reqs, stats: decode_batch(model, reqs, stats=stats)


def sequential(model: Text2SemanticDecoder) -> Runner:
    """One request after another through the KV-cache loop."""
    return lambda reqs, stats: [decode_batch(model, [r], stats=stats)[0] for r in reqs]


def uncached(model: Text2SemanticDecoder) -> Runner:
    """One request after another, recomputing everything at every step."""
    return lambda reqs, stats: [decode_uncached(model, r) for r in reqs]


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description="T2S decoding tokens/s on CPU")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=100, help="new ids per request")
    parser.add_argument("--baseline-tokens", type=int, default=16, help="new ids for the uncached loop")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bf16", action="store_true", help="also measure bf16 weights")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, default v2 sizes, random weights, "
        f"{args.tokens} new ids per request, load average {os.getloadavg()[0]:.1f}"
    )
    header = f"{'mode':<8}{'batch':>6}{'e2e tok/s':>11}{'decode tok/s':>14}{'per CPU-s':>11}"
    header += f"{'uncached loop':>15}{'sequential KV':>15}{'matmul cap':>12}{'target':>8}"
    print(header)

    for name, dtype in [("fp32", torch.float32)] + ([("bf16", torch.bfloat16)] if args.bf16 else []):
        model = make_model(dtype)
        batched(model)(make_requests(2, 4), DecodeStats())  # warm-up: allocator, tables, kernels
        base_uncached = best_rates(uncached(model), make_requests(1, args.baseline_tokens), 1)[0]
        base_seq = best_rates(sequential(model), make_requests(2, args.tokens), args.repeats)[0]
        for size in args.batches:
            e2e, decode, per_cpu = best_rates(batched(model), make_requests(size, args.tokens), args.repeats)
            target = TARGETS.get((name, size))
            row = f"{name:<8}{size:>6}{e2e:>11.1f}{decode:>14.1f}{per_cpu:>11.1f}"
            row += f"{base_uncached:>15.1f}{base_seq:>15.1f}{matmul_cap(model, size):>12.1f}"
            print(row + (f"{target:>8.0f}" if target else f"{'-':>8}"), flush=True)


if __name__ == "__main__":
    main()
