"""The T2S decoder: phones + BERT features + prompt semantic ids → next semantic id logits.

State-dict names match the official checkpoints once their ``model.`` prefix is stripped.
The forward pass is split into ``prefill`` (every row's prompt, packed without padding, filling
the KV cache) and ``decode_step`` (one new token per row), plus ``teacher_forced`` for
full-sequence checks. Matmuls go through ``packed_linear`` (prepacked weights on CPU).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gpt_sovits.t2s.config import T2SConfig
from gpt_sovits.t2s.kv_cache import DecodeCache
from gpt_sovits.t2s.packed_linear import PackedWeight, linear

BERT_DIM = 1024
NEG_INF = float("-inf")
# Decode batches from this many rows attend with ``_attend_one``; a single row is as fast with SDPA.
_MIN_MATVEC_ROWS = 4


class SinePositions(nn.Module):
    """Sinusoidal positions scaled by one learned ``alpha`` (the table itself is not stored)."""

    def __init__(self, dim: int, initial_length: int = 4000) -> None:
        """Create ``alpha``; the table is computed lazily on the parameter's device and dtype."""
        super().__init__()
        self.dim = dim
        self.alpha = nn.Parameter(torch.ones(1))
        self._initial_length = initial_length
        self._table: Tensor | None = None

    def _build(self, length: int) -> Tensor:
        # Computed in float32 (as the official table) and only then cast to the model dtype.
        pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
        rate = torch.exp(torch.arange(0, self.dim, 2, dtype=torch.float32) * (-math.log(10000.0) / self.dim))
        table = torch.zeros(length, self.dim, dtype=torch.float32)
        table[:, 0::2] = torch.sin(pos * rate)
        table[:, 1::2] = torch.cos(pos * rate)
        return table.to(device=self.alpha.device, dtype=self.alpha.dtype)

    def table(self, length: int) -> Tensor:
        """The first ``length`` rows of the (unscaled) table, regrown when too short."""
        cached = self._table
        stale = (
            cached is None
            or cached.shape[0] < length
            or cached.device != self.alpha.device
            or cached.dtype != self.alpha.dtype
        )
        if stale:
            cached = self._build(max(length, self._initial_length))
            self._table = cached
        assert cached is not None
        return cached[:length]

    def forward(self, positions: Tensor) -> Tensor:
        """``alpha · pe[positions]`` for integer ``positions`` of any shape (adds a last dim D)."""
        table = self.table(int(positions.max()) + 1 if positions.numel() else 1)
        return self.alpha * table[positions]


class TokenEmbedding(nn.Module):
    """An embedding table under the official attribute name ``word_embeddings``."""

    def __init__(self, rows: int, dim: int) -> None:
        """Allocate the table."""
        super().__init__()
        self.word_embeddings = nn.Embedding(rows, dim)

    def forward(self, ids: Tensor) -> Tensor:
        """Look the ids up."""
        out: Tensor = self.word_embeddings(ids)
        return out


@dataclass(frozen=True)
class Segment:
    """One row's prefix inside a packed prefill: ``length`` positions from ``offset`` of the packed
    sequence, stored from column ``start`` of cache row ``row``; ``mask`` [1, 1, length, length]
    (True = may attend) or ``None`` when every position may attend to every other one.
    """

    offset: int
    length: int
    row: int
    start: int
    mask: Tensor | None


class SelfAttention(nn.Module):
    """Multi-head self-attention with packed q|k|v input projection (official tensor names)."""

    def __init__(self, dim: int, heads: int) -> None:
        """Allocate the packed projection and the output projection."""
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        self._in_pack = PackedWeight()
        self._out_pack = PackedWeight()

    def _project_in(self, x: Tensor) -> Tensor:
        return linear(x, self.in_proj_weight, self.in_proj_bias, self._in_pack)

    def _project_out(self, x: Tensor) -> Tensor:
        return linear(x, self.out_proj.weight, self.out_proj.bias, self._out_pack)

    def forward(
        self, x: Tensor, mask: Tensor | None, cache: DecodeCache | None, layer: int, start: int
    ) -> Tensor:
        """Attend ``x`` [B, T, D] to itself, or to the cached prefix plus itself when ``cache`` is given.

        ``mask`` is boolean, True = may attend, broadcastable to [B, heads, T, keys].
        """
        b, t, d = x.shape
        qkv = self._project_in(x)
        # [B, T, 3, H, hd] → three [B, H, T, hd] views without copying.
        q, k, v = qkv.view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        if cache is not None:
            k, v = cache.write(layer, start, k, v)
        if t == 1 and b >= _MIN_MATVEC_ROWS and q.device.type == "cpu" and q.dtype == torch.float32:
            out = _attend_one(q, k, v, mask)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self._project_out(out.transpose(1, 2).reshape(b, t, d))

    def forward_packed(
        self, x: Tensor, segments: list[Segment], cache: DecodeCache, layer: int, last_only: bool
    ) -> Tensor:
        """Prefill several rows packed end to end in ``x`` [N, D]; each row attends within its segment.

        The projections run once over all N positions (no padding computed); attention runs per
        segment. With ``last_only`` only each segment's last position is attended from (its
        keys/values are still cached), giving [len(segments), D] instead of [N, D].
        """
        n, d = x.shape
        # [N, 3, H, hd] → [3, H, N, hd] view.
        heads = self._project_in(x).view(n, 3, self.heads, self.head_dim).permute(1, 2, 0, 3)
        out = x.new_empty(len(segments) if last_only else n, self.heads, self.head_dim)
        for i, seg in enumerate(segments):
            q, k, v = heads[:, :, seg.offset : seg.offset + seg.length].unsqueeze(1).unbind(0)
            cache.write_row(layer, seg.row, seg.start, k, v)
            if last_only:
                # The last position of a prefix (audio, or text when there is no prompt) sees all of it.
                attended = F.scaled_dot_product_attention(q[:, :, -1:], k, v)
                out[i].copy_(attended[0, :, 0])
            else:
                attended = F.scaled_dot_product_attention(q, k, v, attn_mask=seg.mask)
                out[seg.offset : seg.offset + seg.length].copy_(attended[0].transpose(0, 1))
        return self._project_out(out.view(-1, d))


def _attend_one(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
    """Attention of a single query per row ([B, H, 1, hd]) over ``k``/``v`` [B, H, L, hd].

    Two batched matrix-vector products and a softmax: for one query this streams the cache
    about 20 % faster on CPU than ``scaled_dot_product_attention``'s blocked kernel (float32
    only: bf16 products go to oneDNN, which builds a new kernel for every cache length, a
    few ms per decode step). ``mask`` is boolean (True = attend) or additive, broadcastable to
    [B, H, 1, L].
    """
    scores = torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-1, -2))
    if mask is not None:
        scores = scores.masked_fill(~mask, NEG_INF) if mask.dtype == torch.bool else scores + mask
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class Block(nn.Module):
    """Post-norm transformer block: LN1(x + attn(x)), then LN2(x + FFN(x)) with a ReLU FFN."""

    def __init__(self, dim: int, heads: int, ffn_dim: int) -> None:
        """Allocate attention, feed-forward and the two norms."""
        super().__init__()
        self.self_attn = SelfAttention(dim, heads)
        self.linear1 = nn.Linear(dim, ffn_dim)
        self.linear2 = nn.Linear(ffn_dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self._pack1 = PackedWeight()
        self._pack2 = PackedWeight()

    def _feed_forward(self, x: Tensor) -> Tensor:
        hidden = linear(x, self.linear1.weight, self.linear1.bias, self._pack1, relu=True)
        return linear(hidden, self.linear2.weight, self.linear2.bias, self._pack2)

    def forward(
        self, x: Tensor, mask: Tensor | None, cache: DecodeCache | None, layer: int, start: int
    ) -> Tensor:
        """Run the block over ``x`` [B, T, D]."""
        x = self.norm1(x + self.self_attn(x, mask, cache, layer, start))
        return self.norm2(x + self._feed_forward(x))  # type: ignore[no-any-return]

    def forward_packed(
        self, x: Tensor, segments: list[Segment], cache: DecodeCache, layer: int, last: Tensor | None
    ) -> Tensor:
        """Run the block over packed prefixes ``x`` [N, D] (see ``SelfAttention.forward_packed``).

        With ``last`` (the packed index of each segment's last position) only those positions
        continue past attention: [len(segments), D].
        """
        attended = self.self_attn.forward_packed(x, segments, cache, layer, last_only=last is not None)
        if last is not None:
            x = x.index_select(0, last)
        x = self.norm1(x + attended)
        return self.norm2(x + self._feed_forward(x))  # type: ignore[no-any-return]


class BlockStack(nn.Module):
    """The transformer blocks, under the official name ``layers``."""

    def __init__(self, config: T2SConfig) -> None:
        """Allocate ``n_layer`` blocks."""
        super().__init__()
        self.layers = nn.ModuleList(
            Block(config.hidden_dim, config.head, config.ffn_dim) for _ in range(config.n_layer)
        )


class Text2SemanticDecoder(nn.Module):
    """The GPT of GPT-SoVITS: a decoder-only transformer over [text ; semantic ids]."""

    def __init__(self, config: T2SConfig) -> None:
        """Allocate every module for ``config``'s sizes (weights are random until loaded)."""
        super().__init__()
        self.config = config
        d = config.hidden_dim
        self.bert_proj = nn.Linear(BERT_DIM, d)
        self._bert_pack = PackedWeight()
        self.ar_text_embedding = TokenEmbedding(config.phoneme_vocab_size, d)
        self.ar_text_position = SinePositions(d)
        self.ar_audio_embedding = TokenEmbedding(config.vocab_size, d)
        self.ar_audio_position = SinePositions(d)
        self.h = BlockStack(config)
        self.ar_predict_layer = nn.Linear(d, config.vocab_size, bias=False)
        self._predict_pack = PackedWeight()
        #: Continuous decodes of this model (``DecodeSlots``) replay CUDA graphs of their step on
        #: CUDA (``gpt_sovits.t2s.graphs``); set by the loader from the server setting.
        self.cuda_graphs = False

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype."""
        return self.ar_predict_layer.weight.dtype

    @property
    def device(self) -> torch.device:
        """The parameters' device."""
        return self.ar_predict_layer.weight.device

    # --- embeddings -------------------------------------------------------------------------

    def embed_text(self, phones: Tensor, bert: Tensor, positions: Tensor) -> Tensor:
        """Phone embedding + projected BERT features + positions: [B, T] ids, [B, 1024, T] → [B, T, D]."""
        features = bert.transpose(1, 2).to(self.dtype)
        x = self.ar_text_embedding(phones) + linear(
            features, self.bert_proj.weight, self.bert_proj.bias, self._bert_pack
        )
        return x + self.ar_text_position(positions)  # type: ignore[no-any-return]

    def embed_audio(self, ids: Tensor, positions: Tensor) -> Tensor:
        """Semantic id embedding + positions: [B, T] → [B, T, D]."""
        return self.ar_audio_embedding(ids) + self.ar_audio_position(positions)  # type: ignore[no-any-return]

    # --- transformer --------------------------------------------------------------------------

    def run_blocks(
        self, x: Tensor, mask: Tensor | None, cache: DecodeCache | None = None, start: int = 0
    ) -> Tensor:
        """All blocks over ``x`` [B, T, D] placed at cache positions ``[start, start+T)``."""
        for layer, block in enumerate(self.h.layers):
            x = block(x, mask, cache, layer, start)
        if cache is not None:
            cache.advance(x.shape[1])
        return x

    def logits(self, hidden: Tensor) -> Tensor:
        """Next-id logits (float32) from hidden states."""
        return linear(hidden, self.ar_predict_layer.weight, None, self._predict_pack).float()

    def prefill(self, x: Tensor, segments: list[Segment], cache: DecodeCache) -> Tensor:
        """Run prefixes packed end to end in ``x`` [N, D] into their cache rows; logits [B, V] of
        each segment's last position.

        Rows are prefilled without padding: the matmuls see all N positions at once, attention
        stays within each segment. The caller advances the cache once the rows are in.
        """
        last = torch.tensor([seg.offset + seg.length - 1 for seg in segments], device=x.device)
        final = len(self.h.layers) - 1
        for layer, block in enumerate(self.h.layers):
            assert isinstance(block, Block)
            # Only the last position of each prefix needs the last block beyond its keys/values.
            x = block.forward_packed(x, segments, cache, layer, last if layer == final else None)
        return self.logits(x)

    def decode_step(
        self, ids: Tensor, positions: Tensor, key_mask: Tensor | None, cache: DecodeCache
    ) -> Tensor:
        """Feed one new id per row ([B] ids at audio ``positions`` [B]); logits [B, V] for the next one.

        ``key_mask`` ([B, 1, 1, cache.length + 1], boolean True = attend, or additive) hides padding columns;
        ``None`` when no row has padding.
        """
        x = self.embed_audio(ids.unsqueeze(1), positions.unsqueeze(1))
        hidden = self.run_blocks(x, key_mask, cache, start=cache.length)
        return self.logits(hidden[:, -1])

    def teacher_forced(self, phones: Tensor, bert: Tensor, semantic: Tensor) -> tuple[Tensor, Tensor]:
        """One full pass over text then ``semantic`` ids with the inference mask, no cache.

        Returns (hidden [B, Tx+Ty, D], logits [B, Tx+Ty, V]); row i predicts the id after position i.
        """
        b, tx = phones.shape
        ty = semantic.shape[1]
        dev = phones.device
        x = self.embed_text(phones, bert, torch.arange(tx, device=dev).expand(b, tx))
        y = self.embed_audio(semantic, torch.arange(ty, device=dev).expand(b, ty))
        mask = prefix_mask(torch.full((b,), tx, device=dev), torch.full((b,), ty, device=dev), tx + ty)
        hidden = self.run_blocks(torch.cat([x, y], dim=1), mask)
        return hidden, self.logits(hidden)


def prefix_mask(text_lens: Tensor, audio_lens: Tensor, width: int) -> Tensor:
    """Boolean prefill mask [B, 1, S, S] (True = may attend) for right-aligned rows.

    Row b occupies the last ``text_lens[b] + audio_lens[b]`` of ``width`` columns: left padding,
    then text, then audio. Text attends to all text of its row, audio to all text plus earlier
    audio; padding attends only to itself so that no softmax row is empty (its output is never
    read by a real position because real positions never attend to padding).
    """
    dev = text_lens.device
    col = torch.arange(width, device=dev)
    text_start = (width - text_lens - audio_lens).unsqueeze(1)  # [B, 1]
    audio_start = (width - audio_lens).unsqueeze(1)
    is_pad = col < text_start  # [B, S]
    is_text = ~is_pad & (col < audio_start)
    is_audio = col >= audio_start
    causal = col.unsqueeze(1) >= col.unsqueeze(0)  # [S(query), S(key)]
    sees_text = (is_text | is_audio).unsqueeze(2) & is_text.unsqueeze(1)
    sees_audio = is_audio.unsqueeze(2) & is_audio.unsqueeze(1) & causal
    sees_self = is_pad.unsqueeze(2) & torch.eye(width, dtype=torch.bool, device=dev)
    return (sees_text | sees_audio | sees_self).unsqueeze(1)
