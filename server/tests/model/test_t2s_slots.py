"""Rows that join and leave a running decode: a seeded row's ids do not depend on when it joined.

Every row is checked against itself decoded alone (``decode_one``) and inside a static batch
(``decode_batch``), joining a running slot batch at several steps, including before, at and after
the step where EOS becomes possible.
"""

from __future__ import annotations

import pytest
import torch
from t2s_requests import mixed_requests, sampled_requests

from gpt_sovits.t2s.decode import EOS_BLOCKED_STEPS, DecodeRequest, decode_batch, decode_one
from gpt_sovits.t2s.kv_cache import SlotKVCache
from gpt_sovits.t2s.model import Text2SemanticDecoder
from gpt_sovits.t2s.slots import DecodeResult, DecodeSlots, positions_needed


def _run(
    model: Text2SemanticDecoder, schedule: dict[int, list[DecodeRequest]], max_rows: int = 8
) -> list[DecodeResult]:
    """Admit ``schedule[step]`` before step ``step``; results in admission order."""
    slots = DecodeSlots(model, max_rows)
    admitted: list[DecodeRequest] = []
    results: dict[int, DecodeResult] = {}
    step = 0
    while step <= max(schedule) or slots.rows:
        new = schedule.get(step, [])
        slots.admit([(len(admitted) + i, r) for i, r in enumerate(new)])
        admitted += new
        results.update((done.key, done.result) for done in slots.step())
        step += 1
    return [results[key] for key in range(len(admitted))]


@pytest.mark.parametrize("join_at", [0, 1, 5, EOS_BLOCKED_STEPS - 1, EOS_BLOCKED_STEPS, 23])
def test_t2s_a_row_joining_at_any_step_equals_alone_and_static(
    tiny: Text2SemanticDecoder, golden: dict, join_at: int
) -> None:
    first, second, third, fourth = mixed_requests(golden, 40)
    static = decode_batch(tiny, [first, second, third, fourth])
    schedule = {0: [first, fourth]}
    schedule[join_at] = [*schedule.get(join_at, []), second, third]
    got = _run(tiny, schedule)
    expected = [static[0], static[3], static[1], static[2]]
    for request, together, batched in zip([first, fourth, second, third], got, expected, strict=True):
        alone = decode_one(tiny, request)
        assert torch.equal(together.tokens, alone.tokens)
        assert torch.equal(together.tokens, batched.tokens)
        assert together.steps == alone.steps
        assert together.tokens.numel() == request.max_new_tokens


def test_t2s_a_lone_slot_row_equals_decode_one(tiny: Text2SemanticDecoder, golden: dict) -> None:
    for request in mixed_requests(golden, 30):
        assert torch.equal(_run(tiny, {0: [request]})[0].tokens, decode_one(tiny, request).tokens)


def test_t2s_slot_rows_stop_at_their_own_eos_and_free_their_slots(
    eos_prone: Text2SemanticDecoder, golden: dict
) -> None:
    requests = sampled_requests(golden, 300)
    slots = DecodeSlots(eos_prone, max_rows=4)
    slots.admit(list(enumerate(requests[:3])))
    rows_seen: list[int] = []
    results: dict[int, DecodeResult] = {}
    joined = False
    while slots.rows:
        rows_seen.append(slots.rows)
        results.update((done.key, done.result) for done in slots.step())
        if len(results) and not joined:  # the first free slot is refilled at once
            slots.admit([(3, requests[3])])
            joined = True
    assert all(results[i].stopped_by_eos for i in range(4))
    assert rows_seen[-1] == 1
    assert max(rows_seen) <= 4
    for i, request in enumerate(requests):
        assert torch.equal(results[i].tokens, decode_one(eos_prone, request).tokens)


def test_t2s_removed_rows_leave_the_others_untouched(tiny: Text2SemanticDecoder, golden: dict) -> None:
    requests = mixed_requests(golden, 30)
    slots = DecodeSlots(tiny, max_rows=4)
    slots.admit(list(enumerate(requests)))
    results: dict[int, DecodeResult] = {}
    for step in range(40):
        if step == 3:
            slots.remove([0, 2])
            assert slots.keys == [3, 1]  # the last row took the first freed slot
        results.update((done.key, done.result) for done in slots.step())
    assert set(results) == {1, 3}
    for key in (1, 3):
        assert torch.equal(results[key].tokens, decode_one(tiny, requests[key]).tokens)


def test_t2s_slots_refuse_more_rows_than_they_hold(tiny: Text2SemanticDecoder, golden: dict) -> None:
    requests = mixed_requests(golden, 20)
    slots = DecodeSlots(tiny, max_rows=2)
    slots.admit([(0, requests[0])])
    with pytest.raises(ValueError, match="slots"):
        slots.admit([(1, requests[1]), (2, requests[2])])
    with pytest.raises(ValueError, match="unique"):
        slots.admit([(0, requests[1])])
    assert slots.rows == 1
    assert slots.cache.capacity >= positions_needed(requests[0])


def test_slot_cache_writes_each_row_at_its_own_length_and_refills_freed_slots() -> None:
    cache = SlotKVCache(1, 1, 2, dtype=torch.float32, device=torch.device("cpu"))
    cache.reserve(3, 8)
    for row, length in enumerate((2, 4, 3)):
        cache.write_row(
            0, row, 0, torch.full((1, 1, length, 2), float(row + 1)), torch.zeros(1, 1, length, 2)
        )
    cache.join([2, 4, 3])
    keys, _ = cache.write(0, cache.length, torch.full((3, 1, 1, 2), 9.0), torch.zeros(3, 1, 1, 2))
    cache.advance(1)
    assert keys.shape == (3, 1, 5, 2)
    assert [int((keys[row, 0, :, 0] == 9).nonzero()) for row in range(3)] == [2, 4, 3]
    mask = cache.key_mask()
    assert mask is not None
    assert mask.shape == (3, 1, 1, 6)
    # Each row's next token may attend its filled columns and itself, nothing after.
    assert [int(torch.isfinite(mask[row, 0, 0]).sum()) for row in range(3)] == [4, 6, 5]
    order = cache.remove([0])
    assert order.tolist() == [2, 1]
    assert cache.rows == 2
    assert cache.lengths.tolist() == [4, 5]
    assert torch.equal(cache.keys[0, 0, 0, :4, 0], torch.tensor([3.0, 3.0, 3.0, 9.0]))
