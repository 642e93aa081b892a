"""Token-chunk streaming in the engine, with both schedulers: a sentence's audio leaves while its GPT
row still decodes, the row's ids are the same whether it streams or not, a fixed seed gives the same
chunks every time, the generation guard retries a streamed row only before its first chunk, and a
SoVITS stage that batches decodes queued chunks together with the same audio."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from server_api_helpers import until

from gpt_sovits.demo import DEMO_PROMPT_TEXT, DemoBundle
from gpt_sovits.errors import GenerationError
from gpt_sovits.pipeline import SemanticSentence, SentenceJob, SynthesisParams, Synthesizer, VoiceReference
from gpt_sovits.t2s.chunking import ChunkRule
from voice_server.engine import chunks, continuous
from voice_server.engine.chunks import ChunkJob, TokenChunking
from voice_server.engine.model import BatchingSettings, ModelSpec, VoiceModel
from voice_server.engine.queue import NORMAL, URGENT
from voice_server.engine.results import SentenceAudio
from voice_server.metrics import ServerMetrics

SCHEDULERS = ["static", "continuous"]
SAMPLES_PER_ID = 1280
CHUNKING = TokenChunking(ChunkRule("fixed", 8), overlap_tokens=2)


@pytest.fixture(scope="module")
def synth(demo_dir: Path) -> Synthesizer:
    bundle = DemoBundle.at(demo_dir)
    return Synthesizer.load(bundle.gpt_weights, bundle.sovits_weights, None, bundle.hubert_dir, "cpu")


def _job(synth: Synthesizer, demo_dir: Path, text: str, seed: int, tokens: int) -> SentenceJob:
    reference = VoiceReference(DemoBundle.at(demo_dir).reference_audio, DEMO_PROMPT_TEXT, "zh")
    params = SynthesisParams(language="en", seed=seed, max_tokens_per_sentence=tokens)
    return synth.jobs(text, reference, params)[0]


def _model(synth: Synthesizer, scheduler: str, **batching_options: Any) -> VoiceModel:
    batching = BatchingSettings(
        max_batch_size=4, max_delay_s=0.0, max_queue=8, scheduler=scheduler, **batching_options
    )
    spec = ModelSpec(Path("gpt.ckpt"), Path("sovits.pth"))
    return VoiceModel("default", spec, synth, generation=1, batching=batching, metrics=ServerMetrics())


def _run(model: VoiceModel, scenario: Callable[[VoiceModel], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        model.start()
        try:
            return await scenario(model)
        finally:
            await model.stop()

    return asyncio.run(main())


def _recording_sovits(model: VoiceModel) -> list[ChunkJob]:
    """Every ChunkJob the SoVITS stage runs, in order."""
    seen: list[ChunkJob] = []
    inner = model.sovits._run_batch

    def run(items: list[Any]) -> Any:
        seen.extend(item for item in items if isinstance(item, ChunkJob))
        return inner(items)

    model.sovits._run_batch = run
    return seen


async def _streamed(
    model: VoiceModel, jobs: list[SentenceJob], chunking: TokenChunking | None = CHUNKING
) -> list[SentenceAudio]:
    return [piece async for piece in model.stream(jobs, time.monotonic() + 120, chunking)]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_token_chunks_leave_while_the_sentence_still_decodes(synth, demo_dir, scheduler, monkeypatch) -> None:
    job = _job(synth, demo_dir, "One long sentence streams in chunks.", seed=5, tokens=40)
    model = _model(synth, scheduler)
    jobs_run = _recording_sovits(model)
    # The GPT row stops at its 20th id until the first chunk's audio is out.
    first_out = threading.Event()
    held_at: list[int] = []
    push = chunks.TokenFeed.push

    def holding_push(self: chunks.TokenFeed, token: int) -> None:
        push(self, token)
        if len(self.ids) == 20 and not held_at:
            held_at.append(len(self.ids))
            assert first_out.wait(60), "the first chunk never left while the decode was held"

    monkeypatch.setattr(chunks.TokenFeed, "push", holding_push)

    async def scenario(model: VoiceModel) -> list[SentenceAudio]:
        pieces = []
        async for piece in model.stream([job], time.monotonic() + 120, CHUNKING):
            pieces.append(piece)
            first_out.set()
        return pieces

    pieces = _run(model, scenario)
    assert held_at == [20]
    assert [job.tokens.numel() for job in jobs_run] == [8, 16, 24, 32, 40, 40]
    assert [job.final for job in jobs_run] == [False] * 5 + [True]
    assert [piece.final for piece in pieces] == [False] * 5 + [True]
    # Each chunk's last two ids are held back for the seam's cross-fade; the final piece sends them.
    assert [piece.wave.shape[0] // SAMPLES_PER_ID for piece in pieces] == [6, 8, 8, 8, 8, 2]
    assert pieces[-1].batch_size == 1


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_a_streamed_row_ends_with_the_ids_it_has_unstreamed(synth, demo_dir, scheduler) -> None:
    streamed = [
        _job(synth, demo_dir, f"Streamed sentence {i} goes on.", seed=10 + i, tokens=30) for i in range(2)
    ]
    others = [
        _job(synth, demo_dir, f"A whole sentence {i} decodes.", seed=20 + i, tokens=25) for i in range(2)
    ]
    model = _model(synth, scheduler)
    jobs_run = _recording_sovits(model)

    async def scenario(model: VoiceModel) -> list[Any]:
        # Whole sentences decode in the same GPT batches as the streamed ones.
        whole = asyncio.create_task(model.sentences(others, time.monotonic() + 120))
        pieces = await _streamed(model, streamed)
        semantics = [await model.semantic(job, time.monotonic() + 120) for job in [*streamed, *others]]
        await whole
        return [pieces, semantics]

    pieces, semantics = _run(model, scenario)
    alone = synth.semantic_batch([*streamed, *others])
    assert all(isinstance(result, SemanticSentence) for result in alone)
    finals = [job.tokens for job in jobs_run if job.final]
    assert len(finals) == 2
    for got, unstreamed, single in zip(finals, semantics[:2], alone[:2], strict=True):
        assert torch.equal(got, unstreamed.sentence.tokens)
        assert isinstance(single, SemanticSentence)
        assert torch.equal(got, single.tokens)
    assert sum(piece.final for piece in pieces) == 2
    assert sum(piece.wave.shape[0] for piece in pieces) == sum(t.numel() for t in finals) * SAMPLES_PER_ID


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_a_fixed_seed_token_stream_is_the_same_every_time(synth, demo_dir, scheduler) -> None:
    jobs = [_job(synth, demo_dir, "Same seed, same chunks.", seed=8, tokens=30)]
    first = _run(_model(synth, scheduler), lambda model: _streamed(model, jobs))
    again = _run(_model(synth, scheduler), lambda model: _streamed(model, jobs))
    assert len(first) == len(again) > 2
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.wave, b.wave)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_only_the_streams_first_chunk_is_the_shorter_first_chunk(synth, demo_dir, scheduler) -> None:
    jobs = [_job(synth, demo_dir, f"Sentence {i} of one stream.", seed=40 + i, tokens=24) for i in range(2)]
    model = _model(synth, scheduler)
    jobs_run = _recording_sovits(model)
    chunking = TokenChunking(ChunkRule("fixed", 8, first_tokens=4), overlap_tokens=2)
    pieces = _run(model, lambda model: _streamed(model, jobs, chunking))
    per_sentence: dict[int, list[int]] = {}
    for job in jobs_run:
        per_sentence.setdefault(id(job.sentence), []).append(job.tokens.numel())
    first, second = per_sentence.values()

    def cuts(total: int, first_chunk: int) -> list[int]:
        # Ids so far at each cut, then the whole sentence (its final call).
        return [*range(first_chunk, total + 1, 8), total]

    assert first == cuts(first[-1], 4)
    assert second == cuts(second[-1], 8)
    # The first piece is the short chunk less the ids its seam holds back.
    assert pieces[0].wave.shape[0] // SAMPLES_PER_ID == 4 - 2


def test_a_collapsed_streamed_row_is_retried_before_its_first_chunk_only(
    synth, demo_dir, monkeypatch
) -> None:
    short = _job(synth, demo_dir, "Short and looping.", seed=3, tokens=6)  # fewer ids than a chunk
    long = _job(synth, demo_dir, "Long and looping after its first chunk.", seed=4, tokens=30)
    verdicts = iter(["loop", None, "loop"])
    monkeypatch.setattr(continuous, "collapse", lambda *args, **kwargs: next(verdicts))
    model = _model(synth, "continuous")

    async def scenario(model: VoiceModel) -> list[SentenceAudio]:
        retried = await _streamed(model, [short])
        with pytest.raises(GenerationError, match="after part of it was streamed"):
            await _streamed(model, [long])
        return retried

    retried = _run(model, scenario)
    assert [piece.final for piece in retried] == [True]
    assert retried[0].wave.shape[0] == 6 * SAMPLES_PER_ID


def test_a_streams_first_audio_is_urgent_and_later_chunks_are_due_when_its_audio_runs_out(
    synth, demo_dir
) -> None:
    job = _job(synth, demo_dir, "Ranked chunks of one stream.", seed=6, tokens=40)
    model = _model(synth, "continuous")
    ranks: list[tuple[int, float | None]] = []
    submit = model.sovits.submit

    async def recording_submit(item: Any, timeout_s: float | None = None, **rank: Any) -> SentenceAudio:
        ranks.append((rank["urgency"], rank["due"]))
        return await submit(item, timeout_s, **rank)

    model.sovits.submit = recording_submit  # type: ignore[method-assign]
    pieces = _run(model, lambda model: _streamed(model, [job]))
    assert ranks[0] == (URGENT, None)
    assert all(urgency == NORMAL for urgency, _ in ranks[1:])
    dues = [due for _, due in ranks[1:]]
    sent_s = [piece.wave.shape[0] / model.sample_rate for piece in pieces]
    # Each later piece is due one earlier piece's duration after the one before it.
    steps = [later - earlier for earlier, later in itertools.pairwise(dues)]  # type: ignore[operator]
    assert steps == pytest.approx(sent_s[1:-1])


def test_a_batching_sovits_stage_decodes_queued_chunks_together_with_the_same_audio(synth, demo_dir) -> None:
    jobs = [
        _job(synth, demo_dir, f"Stream {i} of three, in chunks.", seed=30 + i, tokens=24) for i in range(3)
    ]
    alone = _run(
        _model(synth, "continuous"), lambda model: asyncio.gather(*(_streamed(model, [j]) for j in jobs))
    )
    model = _model(synth, "continuous", sovits_max_batch_size=4)
    gate = threading.Event()
    sizes: list[int] = []
    inner = model.sovits._run_batch

    def gated(items: list[Any]) -> Any:
        sizes.append(len(items))
        assert gate.wait(60), "the test never opened the gate"
        return inner(items)

    model.sovits._run_batch = gated

    async def scenario(model: VoiceModel) -> list[list[SentenceAudio]]:
        streams = [asyncio.create_task(_streamed(model, [job])) for job in jobs]
        try:
            # The stage's first batch is held until all three first chunks are in the stage. How many
            # that batch took depends on how the arrivals fell against the stage's wake-up; each
            # stream has one chunk in flight, so the rest are queued first chunks of other streams.
            await until(lambda: len(sizes) == 1 and sizes[0] + model.sovits.depth == len(jobs))
        finally:
            gate.set()
        return list(await asyncio.gather(*streams))

    together = _run(model, scenario)
    assert max(sizes[:2]) >= 2  # queued chunks of different streams went as one batch
    for batched, lone in zip(together, alone, strict=True):
        assert [piece.final for piece in batched] == [piece.final for piece in lone]
        for piece, lone_piece in zip(batched, lone, strict=True):
            np.testing.assert_allclose(piece.wave, lone_piece.wave, rtol=0, atol=1e-5)
