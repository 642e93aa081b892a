"""The autoregressive T2S loop: single and batched decoding with a KV cache.

Batched rows are right-aligned (left padding) so that every row writes its next token to the
same cache column; padding columns are masked out, each row keeps its own positions, sampling
parameters, repetition history and (optional) RNG, so a row's result does not depend on its
batch mates. A row stops on its own EOS or at its own ``max_new_tokens``; finished rows leave
the batch at once.

Stopping follows the official rules: EOS cannot be produced during the first
``EOS_BLOCKED_STEPS`` steps; a row stops when the sampled id or the argmax of its penalised
logits is EOS, and then the last sampled id is dropped. To reproduce the official
``early_stop_num = N`` use ``max_new_tokens = N + 1`` (the official loop stops once more than N
ids were generated; its single-request path keeps them all, its batched path drops the last).

A request may carry a :class:`TokenSink` (a stream that turns ids into audio while the row still
decodes): it hears each id the row keeps, at the step that sampled it. Rows without one cost
nothing extra, and hearing never changes what a row samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

from gpt_sovits import defaults
from gpt_sovits.t2s.kv_cache import KVCache
from gpt_sovits.t2s.model import Segment, Text2SemanticDecoder, prefix_mask
from gpt_sovits.t2s.sampling import sample

# The official loop removes the EOS column for the first 11 steps.
EOS_BLOCKED_STEPS = 11
# The official loop never runs more than 1500 steps.
MAX_DECODE_STEPS = 1500


@dataclass(frozen=True)
class SamplingParams:
    """Sampler settings of one request (the official API defaults)."""

    top_k: int = defaults.TOP_K
    top_p: float = defaults.TOP_P
    temperature: float = defaults.TEMPERATURE
    repetition_penalty: float = defaults.REPETITION_PENALTY

    @classmethod
    def greedy(cls, repetition_penalty: float = defaults.REPETITION_PENALTY) -> SamplingParams:
        """Deterministic decoding (top_k = 1), as used by the conformance fixtures."""
        return cls(top_k=1, top_p=1.0, temperature=1.0, repetition_penalty=repetition_penalty)


class TokenSink(Protocol):
    """Hears a decoding row's ids as they are sampled, on the decoding thread (must not block or raise)."""

    def push(self, token: int) -> None:
        """The row's next kept id (the id dropped at EOS is never pushed)."""

    def restart(self) -> bool:
        """The row is decoded again from its first id; False when the ids heard can no longer be
        taken back (the row must then fail instead)."""


@dataclass(frozen=True)
class DecodeRequest:
    """One utterance to decode.

    ``phones`` [Tx] int64 (prompt phones ++ target phones), ``bert`` [1024, Tx] features,
    ``prompt`` [Tp] int64 semantic ids of the reference (may be empty: reference-free mode);
    ``sink`` hears the ids as they are sampled (None: only the result has them).
    """

    phones: Tensor
    bert: Tensor
    prompt: Tensor
    sampling: SamplingParams = field(default_factory=SamplingParams)
    max_new_tokens: int = MAX_DECODE_STEPS
    seed: int | None = None
    sink: TokenSink | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        """Check shapes early, with a message naming the mismatch."""
        if self.phones.dim() != 1 or self.phones.numel() == 0:
            raise ValueError(f"phones must be a non-empty 1-D tensor, got shape {tuple(self.phones.shape)}")
        if self.bert.dim() != 2 or self.bert.shape[1] != self.phones.numel():
            raise ValueError(f"bert must be [1024, {self.phones.numel()}], got {tuple(self.bert.shape)}")
        if self.prompt.dim() != 1:
            raise ValueError(f"prompt must be 1-D, got shape {tuple(self.prompt.shape)}")
        if not 1 <= self.max_new_tokens <= MAX_DECODE_STEPS:
            raise ValueError(f"max_new_tokens must be in [1, {MAX_DECODE_STEPS}], got {self.max_new_tokens}")


@dataclass
class DecodeResult:
    """What one request produced.

    ``tokens``: generated semantic ids (EOS and the id dropped at EOS excluded);
    ``steps``: ids sampled in total; ``step_logits``: raw logits per step when recorded.
    """

    tokens: Tensor
    stopped_by_eos: bool
    steps: int
    step_logits: Tensor | None = None


@dataclass
class DecodeStats:
    """Where the time of one ``decode_batch`` call went (wall seconds), for metrics and benchmarks."""

    prefill_s: float = 0.0
    decode_s: float = 0.0
    steps: int = 0
    tokens: int = 0


class _Rows:
    """Per-row decoding state of the live rows, kept aligned with the KV cache rows."""

    def __init__(
        self,
        requests: list[DecodeRequest],
        vocab: int,
        capacity: int,
        pad: Tensor,
        device: torch.device,
        dtype: torch.dtype,
    ):
        n = len(requests)
        self.index = torch.arange(n, device=device)  # original request index of each live row
        self.top_k = torch.tensor([r.sampling.top_k for r in requests], device=device)
        self.top_p = torch.tensor([r.sampling.top_p for r in requests], device=device)
        self.temperature = torch.tensor([r.sampling.temperature for r in requests], device=device)
        self.penalty = torch.tensor([r.sampling.repetition_penalty for r in requests], device=device)
        self.max_new = torch.tensor([r.max_new_tokens for r in requests], device=device)
        self.audio_pos = torch.tensor([r.prompt.numel() for r in requests], device=device)
        self.seen = torch.zeros(n, vocab, dtype=torch.bool, device=device)
        for row, r in enumerate(requests):
            self.seen[row, r.prompt.to(device)] = True
        # Additive key mask over cache columns: -inf on each row's left padding, 0 elsewhere.
        columns = torch.arange(capacity, device=device).unsqueeze(0)
        self.key_bias = torch.zeros(n, capacity, device=device, dtype=dtype).masked_fill(
            columns < pad.unsqueeze(1), float("-inf")
        )
        self.generators: list[torch.Generator | None] = [
            None if r.seed is None else torch.Generator(device=device).manual_seed(r.seed) for r in requests
        ]

    def reorder(self, order: Tensor) -> None:
        """Follow the cache after rows were dropped: new row i is old row ``order[i]``."""
        for name in (
            "index",
            "top_k",
            "top_p",
            "temperature",
            "penalty",
            "max_new",
            "audio_pos",
            "seen",
            "key_bias",
        ):
            setattr(self, name, getattr(self, name).index_select(0, order))
        self.generators = [self.generators[i] for i in order.tolist()]


@torch.inference_mode()
def decode_batch(
    model: Text2SemanticDecoder,
    requests: list[DecodeRequest],
    *,
    record_logits: bool = False,
    stats: DecodeStats | None = None,
) -> list[DecodeResult]:
    """Decode several requests together (KV cache, batched); results in request order.

    ``stats``, when given, receives the prefill and decode-loop times and the ids generated.
    """
    if not requests:
        return []
    started = time.perf_counter()
    cfg = model.config
    _check_ids(requests, cfg.phoneme_vocab_size, cfg.EOS)
    dev = model.device
    eos = cfg.EOS
    n = len(requests)
    text_lens = torch.tensor([r.phones.numel() for r in requests], device=dev)
    audio_lens = torch.tensor([r.prompt.numel() for r in requests], device=dev)
    width = int((text_lens + audio_lens).max())
    pad = width - text_lens - audio_lens
    steps_max = max(r.max_new_tokens for r in requests)
    cache = KVCache(cfg.n_layer, n, cfg.head, cfg.head_dim, width + steps_max, dtype=model.dtype, device=dev)

    # All prefixes packed end to end, without padding (each row gets exactly the numbers a batch
    # of one would), then stored right-aligned in the shared cache.
    x, segments = _packed_prefixes(model, requests, width)
    logits = model.prefill(x, segments, cache)
    for seg in segments:
        cache.zero_row_prefix(seg.row, seg.start)
    cache.advance(width)
    prefilled = time.perf_counter()

    rows = _Rows(requests, cfg.vocab_size, cache.capacity, pad, dev, model.dtype)
    sinks = [r.sink for r in requests]
    listened = any(sink is not None for sink in sinks)
    padded = bool((pad > 0).any())
    tokens = torch.zeros(n, steps_max, dtype=torch.long, device=dev)
    step_logits: list[list[Tensor]] = [[] for _ in range(n)]
    results: list[DecodeResult | None] = [None] * n

    for step in range(steps_max):
        if record_logits:
            for row, original in enumerate(rows.index.tolist()):
                step_logits[original].append(logits[row].detach().cpu().clone())
        usable = logits[:, :eos] if step < EOS_BLOCKED_STEPS else logits
        ids, top = sample(
            usable,
            rows.seen,
            top_k=rows.top_k,
            top_p=rows.top_p,
            temperature=rows.temperature,
            penalty=rows.penalty,
            generators=rows.generators,
        )
        tokens[rows.index, step] = ids
        rows.seen.scatter_(1, ids.unsqueeze(1), True)
        hit_eos = (ids == eos) | (top == eos)
        if listened:
            _tell_sinks(sinks, rows.index, ids, hit_eos)
        finished = hit_eos | (rows.max_new <= step + 1)
        if bool(finished.any()):
            dead = finished.nonzero().flatten().tolist()
            for row in dead:
                original = int(rows.index[row])
                by_eos = bool(hit_eos[row])
                kept = step if by_eos else step + 1
                results[original] = DecodeResult(
                    tokens=tokens[original, :kept].cpu(),
                    stopped_by_eos=by_eos,
                    steps=step + 1,
                    step_logits=torch.stack(step_logits[original]) if record_logits else None,
                )
            if len(dead) == rows.index.numel():
                break
            order = cache.drop_rows(dead)
            rows.reorder(order)
            ids = ids.index_select(0, order)
        key_mask = rows.key_bias[:, None, None, : cache.length + 1] if padded else None
        logits = model.decode_step(ids, rows.audio_pos + step, key_mask, cache)

    done = [r for r in results if r is not None]
    if stats is not None:
        stats.prefill_s += prefilled - started
        stats.decode_s += time.perf_counter() - prefilled
        stats.steps += step + 1
        stats.tokens += sum(r.steps for r in done)
    return done


def decode_one(
    model: Text2SemanticDecoder,
    request: DecodeRequest,
    *,
    record_logits: bool = False,
    stats: DecodeStats | None = None,
) -> DecodeResult:
    """Decode a single request with the KV cache."""
    return decode_batch(model, [request], record_logits=record_logits, stats=stats)[0]


@torch.inference_mode()
def decode_uncached(
    model: Text2SemanticDecoder, request: DecodeRequest, *, record_logits: bool = False
) -> DecodeResult:
    """Reference loop: recompute the whole sequence every step, no cache, batch of one.

    Slow on purpose; it is the straightforward baseline the cached paths are checked and
    benchmarked against. Same sampler and stop rules as ``decode_batch``.
    """
    dev = model.device
    eos = model.config.EOS
    _check_ids([request], model.config.phoneme_vocab_size, eos)
    phones = request.phones.to(dev).unsqueeze(0)
    bert = request.bert.to(dev).unsqueeze(0)
    y = request.prompt.to(dev).unsqueeze(0)
    s = request.sampling
    seen = torch.zeros(1, model.config.vocab_size, dtype=torch.bool, device=dev)
    seen[0, y[0]] = True
    gen = None if request.seed is None else torch.Generator(device=dev).manual_seed(request.seed)
    params = {
        "top_k": torch.tensor([s.top_k], device=dev),
        "top_p": torch.tensor([s.top_p], device=dev),
        "temperature": torch.tensor([s.temperature], device=dev),
        "penalty": torch.tensor([s.repetition_penalty], device=dev),
    }
    generated: list[int] = []
    recorded: list[Tensor] = []
    for step in range(request.max_new_tokens):
        logits = model.teacher_forced(phones, bert, y)[1][:, -1]
        if record_logits:
            recorded.append(logits[0].detach().cpu().clone())
        usable = logits[:, :eos] if step < EOS_BLOCKED_STEPS else logits
        ids, top = sample(usable, seen, generators=[gen], **params)
        token = int(ids[0])
        seen[0, token] = True
        generated.append(token)
        y = torch.cat([y, ids.unsqueeze(1)], dim=1)
        if token == eos or int(top[0]) == eos:
            return DecodeResult(
                torch.tensor(generated[:-1], dtype=torch.long), True, step + 1, _stack(recorded)
            )
    return DecodeResult(torch.tensor(generated, dtype=torch.long), False, len(generated), _stack(recorded))


def _packed_prefixes(
    model: Text2SemanticDecoder, requests: list[DecodeRequest], width: int | None, first_row: int = 0
) -> tuple[Tensor, list[Segment]]:
    """Embed every request's text then prompt, rows one after another: [N, D] and their segments.

    Texts are embedded in one call and prompts in another; the rows are then interleaved. Row i
    goes to cache row ``first_row + i``, right-aligned in ``width`` columns, or from column 0
    when ``width`` is None (the slot cache).
    """
    dev = model.device
    text_lens = [r.phones.numel() for r in requests]
    audio_lens = [r.prompt.numel() for r in requests]
    phones = torch.cat([r.phones for r in requests]).to(dev).unsqueeze(0)
    bert = torch.cat([r.bert for r in requests], dim=1).to(dev).unsqueeze(0)
    text_pos = torch.cat([torch.arange(n) for n in text_lens]).to(dev).unsqueeze(0)
    parts = [model.embed_text(phones, bert, text_pos)[0]]
    if sum(audio_lens):
        prompts = torch.cat([r.prompt for r in requests]).to(dev).unsqueeze(0)
        audio_pos = torch.cat([torch.arange(n) for n in audio_lens]).to(dev).unsqueeze(0)
        parts.append(model.embed_audio(prompts, audio_pos)[0])
    # Packed order: text of row 0, prompt of row 0, text of row 1, ...
    order: list[int] = []
    segments: list[Segment] = []
    text_at, audio_at = 0, sum(text_lens)
    for row, (tx, ty) in enumerate(zip(text_lens, audio_lens, strict=True)):
        segments.append(
            Segment(
                offset=len(order),
                length=tx + ty,
                row=first_row + row,
                start=0 if width is None else width - tx - ty,
                mask=prefix_mask(torch.tensor([tx], device=dev), torch.tensor([ty], device=dev), tx + ty)
                if ty
                else None,
            )
        )
        order += range(text_at, text_at + tx)
        order += range(audio_at, audio_at + ty)
        text_at, audio_at = text_at + tx, audio_at + ty
    packed = torch.cat(parts).index_select(0, torch.tensor(order, device=dev))
    return packed, segments


def _tell_sinks(sinks: list[TokenSink | None], index: Tensor, ids: Tensor, hit_eos: Tensor) -> None:
    """Push each live row's id to its request's sink, unless the row just hit EOS."""
    for original, token, eos in zip(index.tolist(), ids.tolist(), hit_eos.tolist(), strict=True):
        sink = sinks[original]
        if sink is not None and not eos:
            sink.push(token)


def _check_ids(requests: list[DecodeRequest], phone_rows: int, eos: int) -> None:
    """Reject ids the embeddings cannot look up, naming the request (instead of an index error)."""
    for i, r in enumerate(requests):
        for what, ids, limit in (("phone ids", r.phones, phone_rows), ("prompt semantic ids", r.prompt, eos)):
            if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= limit):
                low, high = int(ids.min()), int(ids.max())
                raise ValueError(f"request {i}: {what} must be in [0, {limit}), got {low}..{high}")


def _stack(recorded: list[Tensor]) -> Tensor | None:
    return torch.stack(recorded) if recorded else None
