"""Decoding rows that join and leave a running batch (iteration-level, "continuous" batching).

:class:`DecodeSlots` holds the rows of one running decode in a :class:`~gpt_sovits.t2s.kv_cache.
SlotKVCache`. :meth:`~DecodeSlots.admit` prefills new rows (packed end to end, as
:func:`~gpt_sovits.t2s.decode.decode_batch` does); :meth:`~DecodeSlots.step` samples one id for
every row, retires the rows that ended (their slot is free at once) and runs one decode step over
the others. Each row keeps its own sampling settings, repetition history, RNG, EOS rule and token
budget, and the sampler sees a row exactly as ``decode_batch`` does (the same logits width, so the
same RNG draws): a seeded row's ids are the same whether it decoded alone, in a static batch, or
joined this one at any step. A row's :class:`~gpt_sovits.t2s.decode.TokenSink`, if its request has
one, hears each id the row keeps at the step that sampled it.

Not thread-safe: one owner (a scheduler's worker thread) calls every method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from gpt_sovits.t2s.decode import (
    EOS_BLOCKED_STEPS,
    DecodeRequest,
    DecodeResult,
    TokenSink,
    _check_ids,
    _packed_prefixes,
)
from gpt_sovits.t2s.graphs import GraphedStep
from gpt_sovits.t2s.kv_cache import SlotKVCache
from gpt_sovits.t2s.model import Text2SemanticDecoder
from gpt_sovits.t2s.sampling import sample

# Cache positions are reserved in multiples of this, so nearby lengths share one allocation.
_CAPACITY_QUANTUM = 64


@dataclass(frozen=True)
class FinishedRow:
    """A row that ended at the last step: its key (given at admission) and its ids."""

    key: int
    result: DecodeResult


def positions_needed(request: DecodeRequest) -> int:
    """Cache positions a row can fill: its prefix plus every id it may generate."""
    return request.phones.numel() + request.prompt.numel() + request.max_new_tokens


def bytes_per_position(model: Text2SemanticDecoder) -> int:
    """Key and value bytes one cache position of one row takes, over all layers."""
    cfg = model.config
    return 2 * cfg.n_layer * cfg.head * cfg.head_dim * torch.empty(0, dtype=model.dtype).element_size()


def _rounded(positions: int) -> int:
    return -(-positions // _CAPACITY_QUANTUM) * _CAPACITY_QUANTUM


def cache_bytes(needs: Sequence[int], per_position: int) -> int:
    """Bytes of a slot cache holding rows of these :func:`positions_needed` (every row is as wide
    as the widest)."""
    return len(needs) * _rounded(max(needs, default=0)) * per_position


class DecodeSlots:
    """The running rows of one model's GPT decode; at most ``max_rows`` at a time.

    ``budget_bytes`` bounds the cache storage allocated ahead of need (rows are allocated up to
    what the budget holds at the current width, so admissions rarely reallocate); the caller
    decides admissions with :func:`cache_bytes`, so the storage never exceeds the budget unless a
    single row alone is larger.

    ``graphs`` runs each decode step through a :class:`~gpt_sovits.t2s.graphs.GraphedStep` (padded
    to static shapes, replayed as CUDA graphs on CUDA): True for the default one, or one given;
    False for the eager step; None (the default) follows the model's ``cuda_graphs`` flag.
    """

    def __init__(
        self,
        model: Text2SemanticDecoder,
        max_rows: int,
        budget_bytes: int | None = None,
        *,
        graphs: GraphedStep | bool | None = None,
    ) -> None:
        """No rows yet; storage is reserved as rows are admitted."""
        cfg = model.config
        self.model = model
        if graphs is None:
            graphs = model.cuda_graphs
        if isinstance(graphs, bool):
            graphs = GraphedStep(model) if graphs else None
        #: The static-shape step in use, None when every step is eager.
        self.graphs: GraphedStep | None = graphs
        self.max_rows = max_rows
        self.budget_bytes = budget_bytes
        self._per_position = bytes_per_position(model)
        self._needs: list[int] = []
        dev = model.device
        self.cache = SlotKVCache(cfg.n_layer, cfg.head, cfg.head_dim, dtype=model.dtype, device=dev)
        self._keys: list[int] = []
        self._generators: list[torch.Generator | None] = []
        self._sinks: list[TokenSink | None] = []
        self._generated: list[list[int]] = []
        self._steps: list[int] = []
        long = torch.long
        self._top_k = torch.zeros(0, dtype=long, device=dev)
        self._top_p = torch.zeros(0, device=dev)
        self._temperature = torch.zeros(0, device=dev)
        self._penalty = torch.zeros(0, device=dev)
        self._max_new = torch.zeros(0, dtype=long, device=dev)
        self._audio_pos = torch.zeros(0, dtype=long, device=dev)
        self._seen = torch.zeros(0, cfg.vocab_size, dtype=torch.bool, device=dev)
        self._logits = torch.zeros(0, cfg.vocab_size, device=dev)  # each row's next-id logits

    @property
    def rows(self) -> int:
        """Rows decoding now."""
        return len(self._keys)

    @property
    def keys(self) -> list[int]:
        """The running rows' keys, in slot order."""
        return list(self._keys)

    def generated(self, key: int) -> list[int]:
        """The ids row ``key`` has sampled so far (a copy)."""
        return list(self._generated[self._keys.index(key)])

    @torch.inference_mode()
    def admit(self, entries: Sequence[tuple[int, DecodeRequest]]) -> None:
        """Prefill new rows (packed, one pass) into free slots; they sample at the next :meth:`step`.

        Raises ``ValueError`` for unknown ids or more rows than ``max_rows`` (nothing is admitted).
        """
        if not entries:
            return
        keys = [key for key, _ in entries]
        requests = [request for _, request in entries]
        cfg = self.model.config
        _check_ids(requests, cfg.phoneme_vocab_size, cfg.EOS)
        if self.rows + len(entries) > self.max_rows:
            raise ValueError(f"{self.rows} rows decoding, {len(entries)} more exceed {self.max_rows} slots")
        if set(keys) & set(self._keys) or len(set(keys)) != len(keys):
            raise ValueError("row keys must be unique")
        needs = [positions_needed(r) for r in requests]
        self._make_room(needs)
        x, segments = _packed_prefixes(self.model, requests, None, first_row=self.rows)
        logits = self.model.prefill(x, segments, self.cache)
        self.cache.join([seg.length for seg in segments])

        dev = self.model.device
        seen = torch.zeros(len(requests), cfg.vocab_size, dtype=torch.bool, device=dev)
        for row, r in enumerate(requests):
            seen[row, r.prompt.to(dev)] = True

        def grown(state: Tensor, values: list[float] | list[int]) -> Tensor:
            return torch.cat([state, torch.tensor(values, dtype=state.dtype, device=dev)])

        self._top_k = grown(self._top_k, [r.sampling.top_k for r in requests])
        self._top_p = grown(self._top_p, [r.sampling.top_p for r in requests])
        self._temperature = grown(self._temperature, [r.sampling.temperature for r in requests])
        self._penalty = grown(self._penalty, [r.sampling.repetition_penalty for r in requests])
        self._max_new = grown(self._max_new, [r.max_new_tokens for r in requests])
        self._audio_pos = grown(self._audio_pos, [r.prompt.numel() for r in requests])
        self._seen = torch.cat([self._seen, seen])
        self._logits = torch.cat([self._logits, logits])
        self._keys += keys
        self._generators += [
            None if r.seed is None else torch.Generator(device=dev).manual_seed(r.seed) for r in requests
        ]
        self._sinks += [r.sink for r in requests]
        self._generated += [[] for _ in requests]
        self._steps += [0] * len(requests)
        self._needs += needs

    def _make_room(self, new_needs: list[int]) -> None:
        """Reallocate only when the rows or their widest need do not fit the storage."""
        rows = self.rows + len(new_needs)
        width = _rounded(max(self._needs + new_needs))
        cache = self.cache
        if rows <= cache.allocated_rows and width <= cache.capacity:
            return
        if self.budget_bytes is None:
            ahead = 2 * cache.allocated_rows
        else:
            ahead = self.budget_bytes // (width * self._per_position)
        cache.reserve(min(self.max_rows, max(rows, ahead)), width)

    @torch.inference_mode()
    def step(self) -> list[FinishedRow]:
        """Sample one id per row; retire the rows that ended; feed the others one decode step."""
        if not self._keys:
            return []
        eos = self.model.config.EOS
        n = self.rows
        ids = torch.empty(n, dtype=torch.long, device=self.model.device)
        top = torch.empty_like(ids)
        blocked = [row for row, steps in enumerate(self._steps) if steps < EOS_BLOCKED_STEPS]
        free = [row for row, steps in enumerate(self._steps) if steps >= EOS_BLOCKED_STEPS]
        # Rows still in their first steps sample without the EOS column, exactly as a static batch
        # does (same width, so the same RNG draws).
        for rows, width in ((blocked, eos), (free, self._logits.shape[1])):
            if rows:
                self._sample_rows(rows, width, ids, top)
        self._seen.scatter_(1, ids.unsqueeze(1), True)
        sampled = ids.tolist()
        hit_eos = ((ids == eos) | (top == eos)).tolist()
        finished: list[FinishedRow] = []
        dead: list[int] = []
        max_new = self._max_new.tolist()
        for row in range(n):
            self._generated[row].append(sampled[row])
            self._steps[row] += 1
            steps = self._steps[row]
            sink = self._sinks[row]
            if sink is not None and not hit_eos[row]:
                sink.push(sampled[row])
            if hit_eos[row] or steps >= max_new[row]:
                kept = steps - 1 if hit_eos[row] else steps
                tokens = torch.tensor(self._generated[row][:kept], dtype=torch.long)
                finished.append(FinishedRow(self._keys[row], DecodeResult(tokens, bool(hit_eos[row]), steps)))
                dead.append(row)
        if dead:
            order = self._remove_rows(dead)
            ids = ids.index_select(0, order)
        if self._keys:
            positions = self._audio_pos + torch.tensor(self._steps, device=ids.device) - 1
            if self.graphs is not None:
                self._logits = self.graphs.step(ids, positions, self.cache)
            else:
                self._logits = self.model.decode_step(ids, positions, self.cache.key_mask(), self.cache)
        return finished

    def remove(self, keys: Sequence[int]) -> None:
        """Drop rows (cancelled, past their deadline) before the next step; unknown keys are ignored."""
        wanted = set(keys)
        dead = [row for row, key in enumerate(self._keys) if key in wanted]
        if dead:
            with torch.inference_mode():
                self._remove_rows(dead)

    def _sample_rows(self, rows: list[int], width: int, ids: Tensor, top: Tensor) -> None:
        every = len(rows) == self.rows
        index = torch.tensor(rows, device=ids.device)

        def pick(state: Tensor) -> Tensor:
            return state if every else state.index_select(0, index)

        got, best = sample(
            pick(self._logits)[:, :width],
            pick(self._seen),
            top_k=pick(self._top_k),
            top_p=pick(self._top_p),
            temperature=pick(self._temperature),
            penalty=pick(self._penalty),
            generators=[self._generators[row] for row in rows],
        )
        ids[index] = got
        top[index] = best

    def _remove_rows(self, dead: list[int]) -> Tensor:
        order = self.cache.remove(dead)
        for name in (
            "_top_k",
            "_top_p",
            "_temperature",
            "_penalty",
            "_max_new",
            "_audio_pos",
            "_seen",
            "_logits",
        ):
            setattr(self, name, getattr(self, name).index_select(0, order))
        kept = order.tolist()
        self._keys = [self._keys[i] for i in kept]
        self._generators = [self._generators[i] for i in kept]
        self._sinks = [self._sinks[i] for i in kept]
        self._generated = [self._generated[i] for i in kept]
        self._steps = [self._steps[i] for i in kept]
        self._needs = [self._needs[i] for i in kept]
        return order
