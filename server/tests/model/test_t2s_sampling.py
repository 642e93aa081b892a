"""The sampler's pure tensor functions, each against its definition."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_sovits.t2s.sampling import (
    apply_temperature,
    exponential_race,
    repetition_penalty,
    sample,
    top_k_filter,
    top_p_filter,
)

INF = float("inf")


def test_t2s_repetition_penalty_by_sign_and_only_on_seen() -> None:
    logits = torch.tensor([[2.0, -2.0, 3.0, -1.0]])
    seen = torch.tensor([[True, True, False, False, True]])  # wider than logits: EOS column dropped
    out = repetition_penalty(logits, seen, torch.tensor([2.0]))
    assert out.tolist() == [[1.0, -4.0, 3.0, -1.0]]
    assert logits.tolist() == [[2.0, -2.0, 3.0, -1.0]]  # not modified in place


def test_t2s_repetition_penalty_per_row() -> None:
    logits = torch.tensor([[2.0, 1.0], [2.0, 1.0]])
    seen = torch.ones(2, 2, dtype=torch.bool)
    out = repetition_penalty(logits, seen, torch.tensor([1.0, 4.0]))
    assert out.tolist() == [[2.0, 1.0], [0.5, 0.25]]


def test_t2s_top_k_keeps_ties_and_per_row_k() -> None:
    logits = torch.tensor([[1.0, 3.0, 3.0, 0.0], [1.0, 3.0, 2.0, 0.0]])
    out = top_k_filter(logits, torch.tensor([1, 2]))
    assert out.tolist() == [[-INF, 3.0, 3.0, -INF], [-INF, 3.0, 2.0, -INF]]
    assert torch.equal(top_k_filter(logits, torch.tensor([0, 4])), logits)


def test_t2s_top_p_keeps_the_head_and_always_the_best() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    # An id goes once the cumulative mass *including it* exceeds top_p (0.5, 0.8, 0.95, 1.0).
    out = top_p_filter(logits, torch.tensor([0.85]))
    assert torch.isfinite(out).tolist() == [[True, True, False, False]]
    assert torch.isfinite(top_p_filter(logits, torch.tensor([0.7]))).tolist() == [[True, False, False, False]]
    tiny = top_p_filter(logits, torch.tensor([0.1]))
    assert torch.isfinite(tiny).tolist() == [[True, False, False, False]]


def test_t2s_top_p_one_is_a_no_op_even_with_rounding() -> None:
    logits = torch.randn(3, 1025, generator=torch.Generator().manual_seed(0))
    assert torch.equal(top_p_filter(logits, torch.tensor([1.0, 1.0, 1.0])), logits)
    mixed = top_p_filter(logits, torch.tensor([1.0, 0.5, 1.0]))
    assert torch.equal(mixed[0], logits[0])
    assert not torch.isfinite(mixed[1]).all()


def test_t2s_temperature_floor() -> None:
    logits = torch.tensor([[1.0, 2.0]])
    assert apply_temperature(logits, torch.tensor([0.5])).tolist() == [[2.0, 4.0]]
    assert apply_temperature(logits, torch.tensor([0.0])).tolist() == [[1e5, 2e5]]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rows=st.integers(1, 4))
def test_t2s_top_k_one_is_greedy(seed: int, rows: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(rows, 50, generator=gen)
    seen = torch.rand(rows, 51, generator=gen) < 0.3
    ids, top = sample(
        logits,
        seen,
        top_k=torch.ones(rows, dtype=torch.long),
        top_p=torch.full((rows,), 0.8),
        temperature=torch.full((rows,), 0.7),
        penalty=torch.full((rows,), 1.35),
    )
    penalised = repetition_penalty(logits, seen, torch.full((rows,), 1.35))
    assert torch.equal(ids, penalised.argmax(-1))
    assert torch.equal(top, penalised.argmax(-1))


def test_t2s_exponential_race_follows_the_distribution() -> None:
    probs = torch.tensor([0.6, 0.3, 0.1, 0.0]).expand(20000, 4).contiguous()
    torch.manual_seed(0)  # rows without their own generator draw from torch's default one
    ids = exponential_race(probs)
    counts = torch.bincount(ids, minlength=4).float() / ids.numel()
    assert counts[3] == 0
    torch.testing.assert_close(counts[:3], torch.tensor([0.6, 0.3, 0.1]), atol=0.02, rtol=0)


def test_t2s_per_row_generators_are_independent_of_batch_mates() -> None:
    probs = torch.softmax(torch.randn(3, 100, generator=torch.Generator().manual_seed(1)), -1)

    def draw(rows: list[int], seeds: list[int]) -> torch.Tensor:
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        return exponential_race(probs[rows], gens)

    together = draw([0, 1, 2], [10, 11, 12])
    assert int(draw([1], [11])[0]) == int(together[1])
    assert int(draw([2, 1], [12, 11])[1]) == int(together[1])


def test_t2s_generator_count_must_match_rows() -> None:
    with pytest.raises(ValueError, match="2 generators for 3 rows"):
        exponential_race(torch.ones(3, 4) / 4, [None, None])
