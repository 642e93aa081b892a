"""The generation guard on constructed id sequences."""

from __future__ import annotations

import random

import pytest

from gpt_sovits.t2s.guard import GuardLimits, collapse, longest_run, tail_period


def _varied(n: int, seed: int = 0) -> list[int]:
    """Ids without long runs or short loops (what a healthy decode looks like to the rules)."""
    rng = random.Random(seed)
    return [rng.randrange(1024) for _ in range(n)]


def test_healthy_ids_pass() -> None:
    assert collapse(_varied(600)) is None
    assert collapse([]) is None
    assert collapse(_varied(300), stopped_by_eos=True, phone_budget_reached=True) is None


def test_a_long_run_of_one_id_is_caught_anywhere() -> None:
    limits = GuardLimits()
    held = [*_varied(50), *[7] * limits.max_run, *_varied(50, seed=1)]
    assert longest_run(held) == limits.max_run
    assert collapse(held) == "run"
    shorter = [*_varied(50), *[7] * (limits.max_run - 1), *_varied(50, seed=1)]
    assert collapse(shorter) is None


@pytest.mark.parametrize("period", [2, 5, 13, 20])
def test_a_repeated_period_is_a_loop(period: int) -> None:
    cycle = _varied(period, seed=period)
    looping = [*_varied(100), *(cycle * (64 // period + 4))]
    assert collapse(looping) == "loop"
    assert tail_period(looping) in {period, *(p for p in range(2, 21) if p % period == 0)}


def test_a_loop_too_short_or_too_slow_is_not_one() -> None:
    limits = GuardLimits()
    # Three repeats of a 20-id phrase (a word said three times) stay below the rule.
    phrase = _varied(20, seed=3)
    assert collapse([*_varied(80), *(phrase * 3), *_varied(10, seed=4)]) is None
    # A period longer than max_period is never a loop.
    assert tail_period(_varied(limits.max_period + 1, seed=5) * 6) is None


def test_reaching_the_phone_budget_without_eos_is_a_runaway() -> None:
    tokens = _varied(120)
    assert collapse(tokens, phone_budget_reached=True) == "length"
    assert collapse(tokens, phone_budget_reached=False) is None
