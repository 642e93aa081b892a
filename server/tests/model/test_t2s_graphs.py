"""The continuous decode's static-shape step (gpt_sovits.t2s.graphs) against the eager step.

On CPU the padded step runs uncaptured (``run_uncaptured``): the same static shapes, padding rows
and key mask as a CUDA graph replays, so equality with the eager step is checked here on every
machine. Capturing and replaying real CUDA graphs, and fp16, need a GPU.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from t2s_requests import mixed_requests, sampled_requests

from gpt_sovits.t2s import load_t2s
from gpt_sovits.t2s.decode import DecodeRequest, DecodeResult, decode_one
from gpt_sovits.t2s.graphs import Bucket, GraphedStep, choose_bucket, default_buckets, run_uncaptured
from gpt_sovits.t2s.model import Text2SemanticDecoder
from gpt_sovits.t2s.slots import DecodeSlots

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# Small buckets, so that the tiny fixtures' rows (67-column prefixes, 3 rows) are padded in both
# directions and cross bucket boundaries while they decode.
SMALL_BUCKETS: list[Bucket] = default_buckets((2, 4, 8), (80, 96, 128))


def _lockstep(
    model: Text2SemanticDecoder,
    graphed: GraphedStep,
    schedule: dict[int, list[DecodeRequest]],
    remove_at: dict[int, list[int]] | None = None,
    max_rows: int = 8,
) -> tuple[dict[int, DecodeResult], float, int]:
    """The same admissions and removals into an eager and a padded decode, step by step.

    Asserts after every step that both hold the same rows with the same ids; returns the padded
    decode's results, the largest logit difference seen and how many decode steps ran.
    """
    eager = DecodeSlots(model, max_rows, graphs=False)
    padded = DecodeSlots(model, max_rows, graphs=graphed)
    results: tuple[dict[int, DecodeResult], dict[int, DecodeResult]] = ({}, {})
    worst = 0.0
    admitted = 0
    step = decodes = 0
    while step <= max(schedule) or eager.rows:
        new = [(admitted + i, r) for i, r in enumerate(schedule.get(step, []))]
        admitted += len(new)
        for slots, got in zip((eager, padded), results, strict=True):
            slots.admit(new)
            slots.remove((remove_at or {}).get(step, []))
            got.update((done.key, done.result) for done in slots.step())
        assert padded.keys == eager.keys
        for key in eager.keys:
            assert padded.generated(key) == eager.generated(key)
        if eager.rows:  # the step ended with a decode step over the rows left
            worst = max(worst, float((padded._logits - eager._logits).abs().max()))
            decodes += 1
        step += 1
    assert results[0].keys() == results[1].keys()
    for key, result in results[0].items():
        assert torch.equal(results[1][key].tokens, result.tokens)
        assert results[1][key].stopped_by_eos == result.stopped_by_eos
    return results[1], worst, decodes


def _decode_steps(slots: DecodeSlots) -> int:
    """Drive ``slots`` to the end; how many decode steps ran (a step that ends every row runs none)."""
    steps = 0
    while slots.rows:
        slots.step()
        steps += 1 if slots.rows else 0
    return steps


def test_t2s_graphs_pick_the_smallest_bucket_holding_the_step() -> None:
    grid = default_buckets((1, 4, 8), (128, 256))
    assert choose_bucket(grid, 1, 1) == (1, 128)
    assert choose_bucket(grid, 3, 128) == (4, 128)
    assert choose_bucket(grid, 4, 129) == (4, 256)
    assert choose_bucket(grid, 8, 256) == (8, 256)
    assert choose_bucket(grid, 9, 10) is None
    assert choose_bucket(grid, 2, 257) is None
    # Off a grid the fewest padded positions win, then the fewest rows.
    assert choose_bucket([(8, 128), (2, 1024), (4, 256)], 2, 100) == (4, 256)


@pytest.mark.parametrize("join_at", [0, 4, 12])
def test_t2s_padded_step_equals_eager_across_admissions_and_removals(
    tiny: Text2SemanticDecoder, golden: dict, join_at: int
) -> None:
    first, second, third, fourth = mixed_requests(golden, 40)
    schedule = {0: [first]}
    schedule[join_at] = [*schedule.get(join_at, []), second, third]
    schedule[join_at + 3] = [fourth]
    graphed = GraphedStep(tiny, SMALL_BUCKETS, capture=run_uncaptured)

    results, worst, decodes = _lockstep(tiny, graphed, schedule, remove_at={join_at + 6: [1]})

    assert worst < 1e-4
    assert (graphed.stats.padded, graphed.stats.eager) == (decodes, 0)
    # Rows and columns were padded: 1 row ran at 2, 3 rows at 4, 67..107 columns at 80..128.
    assert {rows for rows, _ in graphed.stats.shapes} >= {2, 4}
    assert {columns for _, columns in graphed.stats.shapes} >= {80, 96, 128}
    assert set(results) == {0, 2, 3}  # row 1 was removed
    for key, request in ((0, first), (2, third), (3, fourth)):
        assert torch.equal(results[key].tokens, decode_one(tiny, request).tokens)


def test_t2s_padded_step_equals_eager_when_rows_end_by_eos_and_slots_refill(
    eos_prone: Text2SemanticDecoder, golden: dict
) -> None:
    # The padding rows are then freed slots holding a finished row's stale keys and values.
    requests = sampled_requests(golden, 200)
    graphed = GraphedStep(eos_prone, SMALL_BUCKETS, capture=run_uncaptured)
    results, worst, decodes = _lockstep(eos_prone, graphed, {0: requests[:3], 9: requests[3:]}, max_rows=4)
    assert worst < 1e-4
    assert all(result.stopped_by_eos for result in results.values())
    assert (graphed.stats.padded, graphed.stats.eager) == (decodes, 0)


def test_t2s_padded_step_writes_the_eager_keys_and_logits_step_after_step(
    tiny: Text2SemanticDecoder, golden: dict
) -> None:
    gap, key_gap = _teacher_forced_gaps(
        tiny, mixed_requests(golden, 60)[:3], 50, SMALL_BUCKETS, run_uncaptured
    )
    assert gap < 1e-4
    assert key_gap < 1e-5


def _teacher_forced_gaps(
    model: Text2SemanticDecoder,
    requests: list[DecodeRequest],
    steps: int,
    buckets: list[Bucket] | None,
    capture: Callable[[Callable[[], None]], Callable[[], None]] | None,
) -> tuple[float, float]:
    """Eager and padded steps over two copies of one prefilled cache, fed the same ids (the eager
    argmax) every step; largest logit and cached-key differences."""
    slots = DecodeSlots(model, len(requests), graphs=False)
    slots.admit(list(enumerate(requests)))
    cache, twin = slots.cache, copy.deepcopy(slots.cache)
    graphed = GraphedStep(model, buckets, capture=capture)
    gap = 0.0
    with torch.inference_mode():
        ids = slots._logits.argmax(-1)
        positions = torch.tensor([r.prompt.numel() for r in requests], device=model.device)
        for _ in range(steps):
            eager = model.decode_step(ids, positions, cache.key_mask(), cache)
            padded = graphed.step(ids, positions, twin)
            gap = max(gap, float((padded - eager).abs().max()))
            ids, positions = eager.argmax(-1), positions + 1
    assert graphed.stats.padded == steps
    assert twin.lengths.tolist() == cache.lengths.tolist()
    used = cache.length
    key_gap = float((twin.keys[:, :, :, :used] - cache.keys[:, :, :, :used]).abs().max())
    return gap, key_gap


def test_t2s_graphs_fall_back_to_eager_for_more_rows_than_any_bucket(
    tiny: Text2SemanticDecoder, golden: dict
) -> None:
    first, second = mixed_requests(golden, 40)[0], mixed_requests(golden, 40)[3]  # 40 and 20 new ids
    graphed = GraphedStep(tiny, [(1, 4096)], capture=run_uncaptured)
    _lockstep(tiny, graphed, {0: [first, second]})
    # Both rows decode 19 steps together (eager), then the first alone for 20 (padded).
    assert (graphed.stats.eager, graphed.stats.padded) == (19, 20)
    # The bucket is clipped to the storage: 67 + 40 positions reserved as 128.
    assert graphed.stats.shapes == {(1, 128)}


def test_t2s_graphs_fall_back_to_eager_past_the_longest_bucket(
    tiny: Text2SemanticDecoder, golden: dict
) -> None:
    request = mixed_requests(golden, 30)[0]  # 67 prefix positions
    graphed = GraphedStep(tiny, [(1, 80)], capture=run_uncaptured)
    _lockstep(tiny, graphed, {0: [request]})
    # Decode step k attends 67 + k columns: steps 1-13 fit 80, steps 14-29 do not.
    assert (graphed.stats.padded, graphed.stats.eager) == (13, 16)


def test_t2s_graphs_decode_eagerly_where_capture_raises_and_say_so_once_per_bucket(
    tiny: Text2SemanticDecoder, golden: dict, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[Callable[[], None]] = []

    def failing(step: Callable[[], None]) -> Callable[[], None]:
        attempts.append(step)
        raise RuntimeError("operation not permitted when stream is capturing")

    first, second, third, _ = mixed_requests(golden, 30)
    graphed = GraphedStep(tiny, SMALL_BUCKETS, capture=failing)
    with caplog.at_level(logging.WARNING, logger="gpt_sovits.t2s.graphs"):
        # Rows: 1 from step 0, 3 from step 5 (after the second row ends only 2 are left).
        _lockstep(tiny, graphed, {0: [first], 5: [second, third]})
    assert graphed.stats.padded == 0
    assert graphed.stats.eager > 25
    warnings = [r for r in caplog.records if "decodes eagerly" in r.getMessage()]
    assert len(attempts) == graphed.stats.failed == len(warnings)
    # One attempt per bucket met, however many steps ran in it: (2, 80) for the row alone, (4, 80)
    # then (4, 96) for three rows, (2, 96) once the second row ended; (2, 80) is not tried again
    # for the last row.
    assert len(warnings) == 4
    assert all(r.levelno == logging.WARNING and r.exc_info for r in warnings)


def test_t2s_slots_decode_eagerly_unless_asked_and_on_cpu_even_when_asked(
    tiny: Text2SemanticDecoder, golden: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = mixed_requests(golden, 20)[0]
    assert DecodeSlots(tiny, 4).graphs is None
    monkeypatch.setattr(tiny, "cuda_graphs", True)
    slots = DecodeSlots(tiny, 4)
    assert slots.graphs is not None
    slots.admit([(0, request)])
    steps = _decode_steps(slots)
    assert (slots.graphs.stats.eager, slots.graphs.stats.padded, slots.graphs.stats.captures) == (steps, 0, 0)
    assert DecodeSlots(tiny, 4, graphs=False).graphs is None


# --- on a GPU ---------------------------------------------------------------------------------


@pytest.mark.gpu
@needs_cuda
def test_t2s_cuda_graphs_replay_the_eager_step(tiny: Text2SemanticDecoder, golden: dict) -> None:
    model = copy.deepcopy(tiny).to("cuda")
    first, second, third, fourth = mixed_requests(golden, 40)
    graphed = GraphedStep(model, SMALL_BUCKETS)  # the real capture: CUDA graphs
    results, worst, decodes = _lockstep(
        model, graphed, {0: [first], 4: [second, third], 7: [fourth]}, remove_at={10: [1]}
    )
    assert graphed.stats.captures >= len(graphed.stats.shapes) >= 4
    assert (graphed.stats.padded, graphed.stats.eager, graphed.stats.failed) == (decodes, 0, 0)
    assert worst < 1e-3
    assert set(results) == {0, 2, 3}


@pytest.mark.gpu
@needs_cuda
def test_t2s_cuda_graphs_in_fp16_stay_within_tolerance(conformance_dir: Path, golden: dict) -> None:
    model = load_t2s(conformance_dir / "t2s_tiny.ckpt", device="cuda", dtype=torch.float16)
    gap, key_gap = _teacher_forced_gaps(model, mixed_requests(golden, 60)[:3], 50, SMALL_BUCKETS, None)
    # fp16 keeps about 3 significant digits; the padded step may take other attention kernels.
    assert gap < 5e-2
    assert key_gap < 1e-2
