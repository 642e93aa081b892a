"""SoVITS decode speed on CPU: real-time factor for 5 s of audio, v2 and v2ProPlus, and a baseline.

Released sizes, random weights, fp32, 2 threads. The baseline is the v2 network run the plain
way: weight norm left as a parametrization, so the effective weights are recomputed on every call.
v2ProPlus (wider generator, speaker-verification conditioning) is decoded from a cached speaker
vector, as the pipeline does; its per-reference speaker-verification embedding (computed once
per reference and cached) is timed separately on a 5 s reference. Everything is measured in the
same run, calls interleaved; the process CPU time is printed too, since other processes on a
shared machine inflate the wall-clock figures.

Run: ``python bench/bench_sovits.py [--seconds 5] [--repeats 3] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn.utils.parametrizations import weight_norm

from gpt_sovits.sovits import SovitsConfig, SovitsSynthesizer
from gpt_sovits.sovits.demo import random_sovits
from gpt_sovits.sovits.modules.weight_norm import WNConv1d, WNConvTranspose1d
from gpt_sovits.sv import ERes2NetConfig, SpeakerVerifier
from gpt_sovits.sv.demo import random_eres2net

TARGET_RTF = 0.5


def _baseline(model: SovitsSynthesizer) -> SovitsSynthesizer:
    """A copy with weight norm re-attached as a parametrization, as a training-style module has it."""
    plain = copy.deepcopy(model)
    for module in plain.modules():
        if isinstance(module, WNConv1d | WNConvTranspose1d):
            weight_norm(module, name="weight", dim=0)
    return plain


def _inputs(seconds: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    frames = int(seconds * 25)  # 25 Hz semantic codes → 50 Hz latent → 32 kHz
    codes = torch.randint(0, 1024, (1, 1, frames), generator=gen)
    text = torch.randint(0, 732, (1, max(4, frames // 3)), generator=gen)
    refer = torch.rand(1, 1025, 250, generator=gen)
    return codes, text, refer


def time_interleaved(
    fns: list[Callable[[], torch.Tensor]], repeats: int
) -> tuple[list[float], list[float], int]:
    """Best wall-clock and process-CPU seconds per function, calls interleaved (A B A B ...).

    Also returns the output length of the first function (the audio every decode produces).

    Interleaving spreads load from other processes over both variants instead of one.
    """
    for fn in fns:
        fn()  # warm-up: first-call allocations and kernel selection
    walls = [float("inf")] * len(fns)
    cpus = [float("inf")] * len(fns)
    samples = 0
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            wall, cpu = time.perf_counter(), time.process_time()
            wav = fn()
            walls[i] = min(walls[i], time.perf_counter() - wall)
            cpus[i] = min(cpus[i], time.process_time() - cpu)
            if i == 0:
                samples = wav.shape[-1]
    return walls, cpus, samples


def main() -> None:
    """Measure and print both real-time factors."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = random_sovits(SovitsConfig(), seed=0)
    baseline = _baseline(model)
    pro = random_sovits(SovitsConfig.released("v2ProPlus"), seed=0)
    codes, text, refer = _inputs(args.seconds)
    verifier = SpeakerVerifier(random_eres2net(ERes2NetConfig(), seed=0), Path("random"))
    reference32k = torch.rand(1, round(args.seconds * pro.sampling_rate), generator=torch.Generator()) - 0.5
    pro_ge = pro.speaker_embedding([refer], [verifier.embed(reference32k, pro.sampling_rate)])

    def run(net: SovitsSynthesizer, ge: torch.Tensor | None = None) -> Callable[[], torch.Tensor]:
        if ge is None:
            ge = net.speaker_embedding([refer])
        return lambda: net.decode(
            codes, text, ge=ge, noise_scale=0.5, generator=torch.Generator().manual_seed(1)
        )

    load = os.getloadavg()[0]
    walls, cpus, samples = time_interleaved(
        [
            run(baseline),
            run(model),
            run(pro, pro_ge),
            lambda: verifier.embed(reference32k, pro.sampling_rate),
        ],
        args.repeats,
    )
    (base_wall, ours_wall, pro_wall, sv_wall), (base_cpu, ours_cpu, pro_cpu, sv_cpu) = walls, cpus
    audio_s = samples / model.sampling_rate
    print(f"SoVITS decode: released v2 and v2ProPlus sizes, random weights, CPU fp32, {args.threads} threads")
    print(
        f"audio {audio_s:.2f} s per call, best of {args.repeats}; 1-min load average at start {load:.1f} "
        f"on {os.cpu_count()} CPUs (other processes inflate wall-clock figures)"
    )
    print(f"{'':34s} {'wall s':>8s} {'RTF':>7s} {'CPU s':>8s} {'CPU-s per audio-s':>18s}")
    for name, wall, cpu in (
        ("v2 baseline (weight norm per call)", base_wall, base_cpu),
        ("v2 ours (weight norm folded)", ours_wall, ours_cpu),
        ("v2ProPlus ours", pro_wall, pro_cpu),
        ("v2ProPlus SV embedding, per ref", sv_wall, sv_cpu),
    ):
        print(f"{name:34s} {wall:8.3f} {wall / audio_s:7.3f} {cpu:8.3f} {cpu / audio_s:18.3f}")
    for name, wall in (("v2", ours_wall), ("v2ProPlus", pro_wall)):
        verdict = "met" if wall / audio_s <= TARGET_RTF else "NOT met"
        print(f"{name}: RTF {wall / audio_s:.3f}, target RTF <= {TARGET_RTF}: {verdict}")
    print(f"v2 speed-up over the baseline {base_wall / ours_wall:.2f}x wall")


if __name__ == "__main__":
    main()
