"""Would batching SoVITS across requests pay here? One decode per item against a batch of items.

The server's SoVITS stage decodes its queue one item at a time (a sentence, or a stream's token
chunk). Batching items of different requests would need length masks through the encoder, flow
and generator; this measures what it could gain at best: items of one length (no padding, no
masks), a batch of ``B`` against ``B`` single decodes, released v2 sizes, random weights, fp32,
calls interleaved (bench_sovits's timer). Lengths: 16 ids (a stream's token chunk, 0.64 s) and 50
ids (a 2 s sentence, the scheduler bench's cap).

Run: ``python -m bench.bench_sovits_batch [--batches 4 8] [--ids 16 50] [--threads 2]``;
``--quick`` (2 ids, batch 2, one repeat) keeps the script from rotting (bench/tests).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

import torch

from bench.bench_sovits import time_interleaved
from gpt_sovits.sovits import SovitsConfig, SovitsSynthesizer
from gpt_sovits.sovits.demo import random_sovits

# Phones per semantic id of the scheduler bench's sentences (about 30 phones for 50 ids).
_PHONES_PER_ID = 0.6


def _decode(model: SovitsSynthesizer, batch: int, ids: int, ge: torch.Tensor) -> Callable[[], torch.Tensor]:
    gen = torch.Generator().manual_seed(batch * 1000 + ids)
    codes = torch.randint(0, 1024, (1, batch, ids), generator=gen)
    text = torch.randint(1, 300, (batch, max(2, round(ids * _PHONES_PER_ID))), generator=gen)
    speaker = ge.expand(batch, -1, -1).contiguous()
    return lambda: model.decode(
        codes, text, ge=speaker, noise_scale=0.5, generator=torch.Generator().manual_seed(1)
    )


def measure(
    model: SovitsSynthesizer, ids_list: Sequence[int], batches: Sequence[int], repeats: int
) -> list[dict[str, float]]:
    """Per length: ms per item one at a time, and per batch size ms per item and the speed-up."""
    ge = torch.randn(1, model.config.gin_channels, 1, generator=torch.Generator().manual_seed(0))
    rows = []
    with torch.inference_mode():
        for ids in ids_list:
            fns = [_decode(model, 1, ids, ge), *(_decode(model, b, ids, ge) for b in batches)]
            walls, _, _ = time_interleaved(fns, repeats)
            single = walls[0]
            for batch, wall in zip(batches, walls[1:], strict=True):
                per_item = wall / batch
                rows.append(
                    {"ids": ids, "batch": batch, "single ms": single * 1000, "batched ms": per_item * 1000,
                     "speed-up": single / per_item}
                )  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print one row per (length, batch size)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ids", type=int, nargs="+", default=[16, 50])
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 ids, batch 2, one repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.ids, args.batches, args.repeats = [2], [2], 1
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    rows = measure(random_sovits(SovitsConfig(), seed=0), args.ids, args.batches, args.repeats)
    print(
        f"SoVITS v2 released sizes, random weights, CPU fp32, {args.threads} threads, best of {args.repeats}"
    )
    print(f"1-min load average at start {load:.1f} on {os.cpu_count()} CPUs")
    print("| ids per item | batch | one at a time, ms per item | batched, ms per item | speed-up |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['ids']:.0f} | {row['batch']:.0f} | {row['single ms']:.0f} | {row['batched ms']:.0f} | "
            f"{row['speed-up']:.2f}x |"
        )


if __name__ == "__main__":
    main()
