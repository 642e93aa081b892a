"""The fast building blocks of the T2S decoder equal the plain ones.

Packed prefill (several rows end to end, no padding) vs one row at a time and vs the full
teacher-forced pass; prepacked linear layers vs ``F.linear``; single-query attention vs
``scaled_dot_product_attention``.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from gpt_sovits.t2s.decode import DecodeRequest, _packed_prefixes
from gpt_sovits.t2s.kv_cache import KVCache
from gpt_sovits.t2s.model import Text2SemanticDecoder, _attend_one
from gpt_sovits.t2s.packed_linear import MIN_PACKED_ROWS, PackedWeight, linear

ATOL, RTOL = 2e-5, 1e-5


def _requests(golden: dict) -> list[DecodeRequest]:
    """Rows of different text and prompt lengths, one without a prompt."""
    phones, bert, prompt = golden["phones"][0], golden["bert_rand"][0], golden["prompt_semantic"][0]
    return [
        DecodeRequest(phones, bert, prompt),
        DecodeRequest(phones[:20], bert[:, :20], prompt[:7]),
        DecodeRequest(phones[5:], bert[:, 5:], prompt[:0]),
        DecodeRequest(phones[:9], bert[:, :9], prompt),
    ]


def _prefill(model: Text2SemanticDecoder, requests: list[DecodeRequest]) -> tuple[torch.Tensor, KVCache, int]:
    cfg = model.config
    width = max(r.phones.numel() + r.prompt.numel() for r in requests)
    rows = len(requests)
    cache = KVCache(cfg.n_layer, rows, cfg.head, cfg.head_dim, width, dtype=model.dtype, device="cpu")
    with torch.inference_mode():
        x, segments = _packed_prefixes(model, requests, width)
        logits = model.prefill(x, segments, cache)
    return logits, cache, width


def test_t2s_packed_prefill_equals_one_row_at_a_time(tiny: Text2SemanticDecoder, golden: dict) -> None:
    requests = _requests(golden)
    logits, cache, width = _prefill(tiny, requests)
    assert logits.shape == (len(requests), tiny.config.vocab_size)
    for row, request in enumerate(requests):
        alone_logits, alone_cache, alone_width = _prefill(tiny, [request])
        torch.testing.assert_close(logits[row], alone_logits[0], atol=ATOL, rtol=RTOL)
        # The row sits right-aligned in the shared cache, where the single row fills its whole cache.
        start = width - alone_width
        for store, alone in ((cache.keys, alone_cache.keys), (cache.values, alone_cache.values)):
            torch.testing.assert_close(store[:, row, :, start:width], alone[:, 0], atol=ATOL, rtol=RTOL)


def test_t2s_packed_prefill_equals_teacher_forced(tiny: Text2SemanticDecoder, golden: dict) -> None:
    requests = _requests(golden)
    logits, _, _ = _prefill(tiny, requests)
    with torch.inference_mode():
        for row, r in enumerate(requests):
            _, full = tiny.teacher_forced(r.phones[None], r.bert[None], r.prompt[None])
            torch.testing.assert_close(logits[row], full[0, -1], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("rows", [1, MIN_PACKED_ROWS, 37])
@pytest.mark.parametrize("relu", [False, True])
def test_t2s_linear_equals_f_linear(rows: int, relu: bool) -> None:
    gen = torch.Generator().manual_seed(rows)
    weight = torch.randn(48, 40, generator=gen) / 40**0.5
    bias = torch.randn(48, generator=gen)
    x = torch.randn(2, rows, 40, generator=gen)
    expected = F.linear(x, weight, bias)
    if relu:
        expected = F.relu(expected)
    with torch.inference_mode():
        got = linear(x, weight, bias, PackedWeight(), relu=relu)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_t2s_packed_weight_follows_in_place_edits_and_copies() -> None:
    layer = torch.nn.Linear(16, 8)
    pack = PackedWeight()
    x = torch.randn(MIN_PACKED_ROWS, 16)
    with torch.inference_mode():
        first = pack.get(layer.weight)
        assert pack.get(layer.weight) is first  # packed once, reused
    with torch.no_grad():
        layer.weight.mul_(2.0)
    with torch.inference_mode():
        assert pack.get(layer.weight) is not first
        expected = F.linear(x, layer.weight, layer.bias)
        torch.testing.assert_close(linear(x, layer.weight, layer.bias, pack), expected)
    copied = copy.deepcopy(pack)
    assert copied._packed is None


def test_t2s_linear_keeps_autograd() -> None:
    layer = torch.nn.Linear(16, 8)
    x = torch.randn(MIN_PACKED_ROWS, 16, requires_grad=True)
    linear(x, layer.weight, layer.bias, PackedWeight(), relu=True).sum().backward()
    assert x.grad is not None
    assert layer.weight.grad is not None


@pytest.mark.parametrize("kind", ["none", "bool", "additive"])
def test_t2s_single_query_attention_equals_sdpa(kind: str) -> None:
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(3, 4, 1, 8, generator=gen)
    k, v = torch.randn(2, 3, 4, 11, 8, generator=gen).unbind(0)
    valid = torch.arange(11) >= torch.tensor([0, 3, 5]).unsqueeze(1)
    masks = {
        "none": None,
        "bool": valid[:, None, None],
        "additive": torch.zeros(3, 11).masked_fill(~valid, float("-inf"))[:, None, None],
    }
    mask = masks[kind]
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(_attend_one(q, k, v, mask), expected, atol=1e-6, rtol=1e-5)
