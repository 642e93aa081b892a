"""The continuous GPT stage on the demo model: joining rows, memory budget, fairness, cancellation,
the generation guard's retry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from server_api_helpers import until

from gpt_sovits.demo import DEMO_PROMPT_TEXT, DemoBundle
from gpt_sovits.errors import GenerationError
from gpt_sovits.pipeline import SemanticSentence, SentenceJob, SynthesisParams, Synthesizer, VoiceReference
from gpt_sovits.t2s.slots import bytes_per_position, cache_bytes, positions_needed
from voice_server.engine import continuous
from voice_server.engine.continuous import ContinuousGpt


@pytest.fixture(scope="module")
def synth(demo_dir: Path) -> Synthesizer:
    bundle = DemoBundle.at(demo_dir)
    return Synthesizer.load(bundle.gpt_weights, bundle.sovits_weights, None, bundle.hubert_dir, "cpu")


def _job(synth: Synthesizer, demo_dir: Path, text: str, seed: int, tokens: int) -> SentenceJob:
    reference = VoiceReference(DemoBundle.at(demo_dir).reference_audio, DEMO_PROMPT_TEXT, "zh")
    params = SynthesisParams(language="en", seed=seed, max_tokens_per_sentence=tokens)
    return synth.jobs(text, reference, params)[0]


def _static(synth: Synthesizer, jobs: list[SentenceJob]) -> list[torch.Tensor]:
    results = synth.semantic_batch(jobs)
    assert all(isinstance(r, SemanticSentence) for r in results)
    return [r.tokens for r in results if isinstance(r, SemanticSentence)]


def _run(synth: Synthesizer, scenario: Callable[[ContinuousGpt], Awaitable[Any]], **settings: Any) -> Any:
    async def main() -> Any:
        options: dict[str, Any] = {
            "max_rows": 4,
            "max_queue": 64,
            "max_delay_s": 0.0,
            "cache_budget_bytes": None,
            "prefill_budget": 4096,
        }
        stage = ContinuousGpt(synth, **{**options, **settings})
        stage.start()
        try:
            return await scenario(stage)
        finally:
            await stage.stop()

    return asyncio.run(main())


@pytest.mark.parametrize("join_at", [1, 7, 15])
def test_a_sentence_joining_a_running_decode_equals_alone_and_static(synth, demo_dir, join_at) -> None:
    first = _job(synth, demo_dir, "The first and longer sentence runs on.", seed=5, tokens=40)
    second = _job(synth, demo_dir, "A second one joins.", seed=6, tokens=20)

    async def scenario(stage: ContinuousGpt) -> list[torch.Tensor]:
        running = asyncio.create_task(stage.decode(first))
        await until(lambda: stage.stats.steps >= join_at)
        joined = await stage.decode(second)
        assert stage.stats.largest_batch == 2
        return [(await running).sentence.tokens, joined.sentence.tokens]

    got = _run(synth, scenario)
    together = _static(synth, [first, second])
    alone = [_static(synth, [job])[0] for job in (first, second)]
    for tokens, static, single in zip(got, together, alone, strict=True):
        assert torch.equal(tokens, static)
        assert torch.equal(tokens, single)


def test_the_cache_budget_holds_rows_back_and_admits_the_oldest_first(synth, demo_dir) -> None:
    jobs = [
        _job(synth, demo_dir, f"Sentence number {i} waits its turn.", seed=i, tokens=15) for i in range(3)
    ]
    need = max(positions_needed(synth.prepare(job).request) for job in jobs)
    one_row = cache_bytes([need], bytes_per_position(synth.t2s))
    finished: list[int] = []

    async def scenario(stage: ContinuousGpt) -> None:
        async def one(index: int) -> None:
            await stage.decode(jobs[index])
            finished.append(index)

        tasks = []
        for index in range(3):  # queued one after another (preparation runs concurrently)
            tasks.append(asyncio.create_task(one(index)))
            queued = index + 1
            await until(lambda: stage.depth + stage.running + len(finished) >= queued)  # noqa: B023
        await asyncio.gather(*tasks)
        assert stage.stats.largest_batch == 1
        assert stage._slots.cache.nbytes() <= one_row

    _run(synth, scenario, cache_budget_bytes=one_row + 1)
    assert finished == [0, 1, 2]


def test_a_prefill_burst_is_bounded_and_rows_never_exceed_the_slots(synth, demo_dir) -> None:
    jobs = [_job(synth, demo_dir, f"Row {i} of a burst.", seed=i, tokens=10) for i in range(5)]

    async def scenario(stage: ContinuousGpt) -> ContinuousGpt:
        await asyncio.gather(*(stage.decode(job) for job in jobs))
        return stage

    bounded = _run(synth, scenario, prefill_budget=1, max_delay_s=0.2)
    # Each burst took one row (the first live row always goes, even over the budget).
    expected = [positions_needed(synth.prepare(j).request) - 10 for j in jobs]
    assert sorted(bounded.stats.prefill_bursts) == sorted(expected)
    slotted = _run(synth, scenario, max_rows=2, max_delay_s=0.2)
    assert slotted.stats.largest_batch == 2
    assert slotted.stats.admitted == 5


def test_a_cancelled_row_leaves_the_running_decode_at_the_next_step(synth, demo_dir) -> None:
    long = _job(synth, demo_dir, "This one is cancelled while it decodes.", seed=1, tokens=1500)
    other = _job(synth, demo_dir, "This one carries on.", seed=2, tokens=30)

    async def scenario(stage: ContinuousGpt) -> torch.Tensor:
        doomed = asyncio.create_task(stage.decode(long))
        survivor = asyncio.create_task(stage.decode(other))
        await until(lambda: stage.running == 2)
        doomed.cancel()
        await until(lambda: stage.stats.dropped_running == 1)
        assert stage.running <= 1
        tokens = (await survivor).sentence.tokens
        assert stage.dropped == 1
        return tokens

    assert torch.equal(_run(synth, scenario), _static(synth, [other])[0])


def test_a_collapsed_row_is_retried_once_with_a_higher_penalty(synth, demo_dir, monkeypatch) -> None:
    job = _job(synth, demo_dir, "This one loops at first.", seed=3, tokens=12)
    seen: list[tuple[str, bool]] = []
    penalties: list[float] = []
    real_admit = continuous.DecodeSlots.admit

    def recording_admit(self, entries):  # type: ignore[no-untyped-def]
        penalties.extend(request.sampling.repetition_penalty for _, request in entries)
        return real_admit(self, entries)

    verdicts = iter(["loop", None])
    monkeypatch.setattr(continuous, "collapse", lambda *args, **kwargs: next(verdicts))
    monkeypatch.setattr(continuous.DecodeSlots, "admit", recording_admit)

    async def scenario(stage: ContinuousGpt) -> torch.Tensor:
        return (await stage.decode(job)).sentence.tokens

    tokens = _run(synth, scenario, on_collapse=lambda reason, retried: seen.append((reason, retried)))
    assert seen == [("loop", True)]
    assert len(penalties) == 2
    assert penalties[1] > penalties[0]
    assert tokens.numel() == 12


def test_a_row_that_collapses_again_ends_with_a_generation_error(synth, demo_dir, monkeypatch) -> None:
    job = _job(synth, demo_dir, "This one never recovers.", seed=4, tokens=12)
    seen: list[tuple[str, bool]] = []
    monkeypatch.setattr(continuous, "collapse", lambda *args, **kwargs: "run")

    async def scenario(stage: ContinuousGpt) -> None:
        with pytest.raises(GenerationError, match="collapsed"):
            await stage.decode(job)
        assert stage.running == 0

    _run(synth, scenario, on_collapse=lambda reason, retried: seen.append((reason, retried)))
    assert seen == [("run", True), ("run", False)]
