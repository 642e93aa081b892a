"""End-to-end synthesis speed on the demo bundle: batched sentences against one at a time.

Real-time factor (wall time / seconds of audio produced) of ``Synthesizer.synthesize_batch`` over
a set of sentences from several requests (two voices, zh and en), every sentence capped at the
same number of semantic ids so both runs produce the same audio. The baseline runs the same jobs
one ``synthesize_batch([job])`` call at a time; both are measured in the same run, reference
features cached beforehand (as a serving process has them). Demo weights are small and random:
the figures describe the pipeline's overhead and batching, not a trained model's speed.

Run: ``python bench/bench_pipeline.py [--sentences 8] [--tokens 50] [--repeats 3] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from gpt_sovits.demo import DEMO_PROMPT_LANGUAGE, DEMO_PROMPT_TEXT, DemoBundle, ensure_demo_bundle
from gpt_sovits.errors import GptSovitsError
from gpt_sovits.pipeline import SentenceJob, SynthesisParams, Synthesizer, VoiceReference

_SENTENCES = [
    ("今天天气很好，我们一起去公园散步吧。", "zh"),
    ("Hello there, this is a short English sentence.", "en"),
    ("这个周末你有什么打算？", "zh"),
    ("The quick brown fox jumps over the lazy dog.", "en"),
    ("请把窗户打开，房间里有点热。", "zh"),
    ("We will meet again at seven in the evening.", "en"),
    ("谢谢你的帮助，我非常感激。", "zh"),
    ("Please call me back when you have a minute.", "en"),
]


def _jobs(bundle: DemoBundle, count: int, tokens: int) -> list[SentenceJob]:
    voices = [
        VoiceReference(bundle.reference_audio, DEMO_PROMPT_TEXT, DEMO_PROMPT_LANGUAGE),
        VoiceReference(bundle.reference_audio),
    ]
    jobs = []
    for i in range(count):
        text, language = _SENTENCES[i % len(_SENTENCES)]
        params = SynthesisParams(language=language, seed=i, max_tokens_per_sentence=tokens)
        jobs.append(SentenceJob(text, voices[i % 2], params))
    return jobs


def _audio_seconds(results: list[np.ndarray | GptSovitsError], rate: int) -> float:
    total = 0
    for result in results:
        if isinstance(result, GptSovitsError):
            raise result
        total += result.shape[0]
    return total / rate


def _best(fn: Callable[[], None], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Parse arguments, run both variants, print the table row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=50, help="semantic ids per sentence (cap)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--bundle-dir", type=Path, default=Path(tempfile.gettempdir()) / "gsv-bench-demo-bundle"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    bundle = ensure_demo_bundle(args.bundle_dir)
    jobs = _jobs(bundle, args.sentences, args.tokens)
    synth = Synthesizer.load(
        bundle.gpt_weights, bundle.sovits_weights, None, bundle.hubert_dir, device="cpu", precision="fp32"
    )
    # Warm-up: dictionaries, reference features, first-call allocations.
    results = synth.synthesize_batch(jobs)
    audio_s = _audio_seconds(results, synth.sample_rate)

    def one_at_a_time() -> None:
        for job in jobs:
            synth.synthesize_batch([job])

    def batched() -> None:
        synth.synthesize_batch(jobs)

    base = _best(one_at_a_time, args.repeats)
    ours = _best(batched, args.repeats)
    ids = args.sentences * args.tokens
    print(f"load average {os.getloadavg()[0]:.1f}; {args.threads} thread(s); demo bundle, CPU fp32")
    print(f"{args.sentences} sentences x {args.tokens} ids = {audio_s:.1f} s of audio")
    print(f"one at a time (baseline): {base:.2f} s  RTF {base / audio_s:.3f}  {ids / base:.0f} ids/s")
    print(f"batched:                  {ours:.2f} s  RTF {ours / audio_s:.3f}  {ids / ours:.0f} ids/s")


if __name__ == "__main__":
    main()
