"""The T2S sampler as pure tensor functions, one parameter value per row.

Order per step (the official one): repetition penalty → top-p → temperature → top-k → softmax →
exponential race (argmax of probs / Exp(1) noise). With top_k = 1 the race is a plain argmax.
Every function takes logits [B, V] and returns new tensors; nothing is modified in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

NEG_INF = float("-inf")


def repetition_penalty(logits: Tensor, seen: Tensor, penalty: Tensor) -> Tensor:
    """Penalise ids already present: negative logits × p, others ÷ p.

    ``seen`` is bool [B, ≥V] (ids in the prompt or generated so far; only the first V columns are
    used), ``penalty`` is [B] (1.0 = off).
    """
    width = logits.shape[1]
    p = penalty.to(logits.dtype).unsqueeze(1)
    penalised = torch.where(logits < 0, logits * p, logits / p)
    return torch.where(seen[:, :width], penalised, logits)


def top_p_filter(logits: Tensor, top_p: Tensor) -> Tensor:
    """Keep the smallest head of the sorted distribution whose mass reaches ``top_p`` [B].

    The most likely id is always kept; rows with ``top_p >= 1`` are left untouched (their
    cumulative sum can exceed 1 by rounding, which must not cut anything).
    """
    active = top_p < 1.0
    if not bool(active.any()):
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    drop_sorted = cum > top_p.to(cum.dtype).unsqueeze(1)
    drop_sorted[:, 0] = False
    drop_sorted &= active.unsqueeze(1)
    drop = torch.zeros_like(drop_sorted).scatter(1, order, drop_sorted)
    return logits.masked_fill(drop, NEG_INF)


def apply_temperature(logits: Tensor, temperature: Tensor) -> Tensor:
    """Divide by ``max(temperature, 1e-5)`` per row."""
    return logits / temperature.to(logits.dtype).clamp_min(1e-5).unsqueeze(1)


def top_k_filter(logits: Tensor, top_k: Tensor) -> Tensor:
    """Keep logits ≥ the row's k-th largest (ties kept); ``top_k`` [B], values ≤ 0 mean no limit."""
    width = logits.shape[1]
    k = torch.where(top_k <= 0, width, top_k).clamp(1, width)
    k_max = int(k.max())
    if k_max >= width and bool((k == width).all()):
        return logits
    values = torch.topk(logits, k_max, dim=-1).values
    pivot = values.gather(1, (k - 1).unsqueeze(1))
    return logits.masked_fill(logits < pivot, NEG_INF)


def exponential_race(probs: Tensor, generators: Sequence[torch.Generator | None] | None = None) -> Tensor:
    """Draw one id per row: ``argmax(probs / q)`` with ``q ~ Exp(1)``.

    ``generators`` gives each row its own RNG (None = torch's default generator); a row's draw then
    depends only on its own generator, never on its batch mates.
    """
    if generators is not None and len(generators) != probs.shape[0]:
        raise ValueError(f"{len(generators)} generators for {probs.shape[0]} rows")
    if generators is None or all(g is None for g in generators):
        q = torch.empty_like(probs).exponential_()
    else:
        q = torch.empty_like(probs)
        for row, gen in enumerate(generators):
            q[row].exponential_(generator=gen)
    return torch.argmax(probs / q, dim=-1)


def sample(
    logits: Tensor,
    seen: Tensor,
    *,
    top_k: Tensor,
    top_p: Tensor,
    temperature: Tensor,
    penalty: Tensor,
    generators: Sequence[torch.Generator | None] | None = None,
) -> tuple[Tensor, Tensor]:
    """One sampling step over logits [B, V'] (float32).

    Returns (ids [B], penalised_argmax [B]); the official EOS test looks at the argmax of the
    penalised logits as well as at the sampled id.
    """
    penalised = repetition_penalty(logits, seen, penalty)
    filtered = top_k_filter(apply_temperature(top_p_filter(penalised, top_p), temperature), top_k)
    probs = torch.softmax(filtered, dim=-1)
    return exponential_race(probs, generators), torch.argmax(penalised, dim=-1)
