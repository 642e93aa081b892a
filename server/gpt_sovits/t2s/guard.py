"""Detecting a collapsed GPT decode from its ids: one id held too long, a loop, a runaway length.

A trained GPT-SoVITS decoder sometimes falls into repeating itself (heard as repeated or dropped
words) or never emits EOS (runaway audio). These rules look only at a row's ids, so they can run
per row inside a batch, on ids as they come:

- ``run``: one id repeated ``max_run`` times in a row (about 1.6 s of one 25 Hz frame);
- ``loop``: the last ids repeat a period of ``min_period``..``max_period`` ids at least
  ``min_repeats`` times, over at least ``min_span`` ids;
- ``length``: the row reached a budget derived from its phone count without EOS (a budget the
  operator capped explicitly is a deliberate cut, not a collapse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Collapse = Literal["run", "loop", "length"]


@dataclass(frozen=True)
class GuardLimits:
    """Thresholds of the rules (defaults far above what natural speech produces)."""

    max_run: int = 40
    min_period: int = 2
    max_period: int = 20
    min_repeats: int = 4
    min_span: int = 48


def longest_run(tokens: Sequence[int]) -> int:
    """The most times one id repeats in a row anywhere in ``tokens``."""
    best = run = 0
    for i, token in enumerate(tokens):
        run = run + 1 if i and token == tokens[i - 1] else 1
        best = max(best, run)
    return best


def tail_period(tokens: Sequence[int], limits: GuardLimits = GuardLimits()) -> int | None:
    """The shortest period the end of ``tokens`` repeats per ``limits``, or None.

    A single held id is a run, not a loop (at least two distinct ids per period).
    """
    for period in range(limits.min_period, limits.max_period + 1):
        span = max(period * limits.min_repeats, limits.min_span)
        if span > len(tokens):
            break
        tail = tokens[-span:]
        if all(tail[i] == tail[i - period] for i in range(period, span)) and len(set(tail[:period])) > 1:
            return period
    return None


def looped(tokens: Sequence[int], limits: GuardLimits = GuardLimits(), stride: int = 16) -> bool:
    """Whether the ids ending at any multiple of ``stride`` (or at the end) loop per ``limits``."""
    ends = [*range(stride, len(tokens), stride), len(tokens)]
    return any(tail_period(tokens[:end], limits) is not None for end in ends)


def collapse(
    tokens: Sequence[int],
    *,
    stopped_by_eos: bool = False,
    phone_budget_reached: bool = False,
    limits: GuardLimits = GuardLimits(),
) -> Collapse | None:
    """Which rule ``tokens`` (a row's ids so far or at its end) break, if any.

    ``phone_budget_reached``: the row ended at a token budget derived from its phone count.
    """
    if longest_run(tokens) >= limits.max_run:
        return "run"
    if looped(tokens, limits):
        return "loop"
    if phone_budget_reached and not stopped_by_eos:
        return "length"
    return None
