"""The fast paths equal the straightforward ones: KV cache vs recompute, batched vs one by one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gpt_sovits.t2s import load_t2s
from gpt_sovits.t2s.decode import (
    EOS_BLOCKED_STEPS,
    DecodeRequest,
    DecodeStats,
    SamplingParams,
    decode_batch,
    decode_one,
    decode_uncached,
)
from gpt_sovits.t2s.model import Text2SemanticDecoder

ATOL, RTOL = 2e-5, 1e-5


def _requests(golden: dict, max_new: int) -> list[DecodeRequest]:
    """A mixed batch: different text and prompt lengths, no prompt at all, greedy and sampled rows."""
    phones, bert_rand, bert_zero = golden["phones"][0], golden["bert_rand"][0], golden["bert_zero"][0]
    prompt = golden["prompt_semantic"][0]
    sampled = SamplingParams(top_k=15, top_p=0.9, temperature=0.8, repetition_penalty=1.35)
    return [
        DecodeRequest(phones, bert_rand, prompt, SamplingParams.greedy(), max_new_tokens=max_new),
        DecodeRequest(phones[:20], bert_zero[:, :20], prompt[:7], sampled, max_new_tokens=max_new, seed=1),
        DecodeRequest(phones[5:], bert_rand[:, 5:], prompt[:0], sampled, max_new_tokens=max_new // 2, seed=2),
        DecodeRequest(
            phones[:9],
            bert_rand[:, :9],
            prompt,
            SamplingParams(top_k=0, temperature=1.2),
            seed=3,
            max_new_tokens=max_new,
        ),
    ]


@pytest.mark.parametrize("row", [0, 1, 2])
def test_t2s_kv_cache_equals_recompute(tiny: Text2SemanticDecoder, golden: dict, row: int) -> None:
    request = _requests(golden, 40)[row]
    cached = decode_one(tiny, request, record_logits=True)
    recomputed = decode_uncached(tiny, request, record_logits=True)
    assert torch.equal(cached.tokens, recomputed.tokens)
    assert cached.steps == recomputed.steps
    assert cached.step_logits is not None
    assert recomputed.step_logits is not None
    torch.testing.assert_close(cached.step_logits, recomputed.step_logits, atol=ATOL, rtol=RTOL)


def test_t2s_batched_equals_one_by_one(tiny: Text2SemanticDecoder, golden: dict) -> None:
    requests = _requests(golden, 60)
    batched = decode_batch(tiny, requests, record_logits=True)
    assert [r.steps for r in batched] == [60, 60, 30, 60]
    for request, together in zip(requests, batched, strict=True):
        alone = decode_one(tiny, request, record_logits=True)
        assert torch.equal(together.tokens, alone.tokens)
        assert together.step_logits is not None
        assert alone.step_logits is not None
        torch.testing.assert_close(together.step_logits, alone.step_logits, atol=ATOL, rtol=RTOL)


def test_t2s_result_does_not_depend_on_batch_mates(tiny: Text2SemanticDecoder, golden: dict) -> None:
    first, *others = _requests(golden, 30)
    reference = decode_batch(tiny, [first])[0].tokens
    for mates in ([others[0]], others, [others[2], others[1]]):
        assert torch.equal(decode_batch(tiny, [*mates, first])[-1].tokens, reference)


def test_t2s_seed_reproducible_and_matters(tiny: Text2SemanticDecoder, golden: dict) -> None:
    request = _requests(golden, 40)[1]
    again = DecodeRequest(**request.__dict__)
    other = DecodeRequest(**{**request.__dict__, "seed": 99})
    assert torch.equal(decode_one(tiny, request).tokens, decode_one(tiny, again).tokens)
    assert not torch.equal(decode_one(tiny, request).tokens, decode_one(tiny, other).tokens)


def test_t2s_each_row_stops_at_its_own_eos(eos_prone: Text2SemanticDecoder, golden: dict) -> None:
    requests = [
        DecodeRequest(
            **{**r.__dict__, "max_new_tokens": 300, "sampling": SamplingParams(top_k=50), "seed": i}
        )
        for i, r in enumerate(_requests(golden, 300))
    ]
    batched = decode_batch(eos_prone, requests)
    eos = eos_prone.config.EOS
    assert all(r.stopped_by_eos for r in batched)
    assert len({r.steps for r in batched}) > 1
    for request, together in zip(requests, batched, strict=True):
        assert together.steps > EOS_BLOCKED_STEPS
        # The id sampled at the EOS step is dropped, as the official loop does.
        assert together.tokens.numel() == together.steps - 1
        assert bool((together.tokens != eos).all())
        assert torch.equal(decode_one(eos_prone, request).tokens, together.tokens)
        assert torch.equal(decode_uncached(eos_prone, request).tokens, together.tokens)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_t2s_half_precision_on_gpu(conformance_dir: Path, golden: dict, dtype: torch.dtype) -> None:
    model = load_t2s(conformance_dir / "t2s_tiny.ckpt", device="cuda", dtype=dtype)
    with torch.inference_mode():
        _, logits = model.teacher_forced(
            golden["phones"].cuda(), golden["bert_rand"].cuda(), golden["tf_semantic"].cuda()
        )
    ref = golden["tf_logits"]
    rel = (logits.cpu() - ref).abs().max() / ref.abs().max()
    assert rel < (2e-2 if dtype == torch.float16 else 5e-2)
    requests = [
        DecodeRequest(r.phones, r.bert, r.prompt, r.sampling, max_new_tokens=r.max_new_tokens, seed=r.seed)
        for r in _requests(golden, 40)
    ]
    batched = decode_batch(model, requests, record_logits=True)
    for request, together in zip(requests, batched, strict=True):
        alone = decode_one(model, request, record_logits=True)
        assert together.step_logits is not None
        assert alone.step_logits is not None
        # Half precision: compare the first step's logits loosely, ids may legitimately diverge later.
        torch.testing.assert_close(together.step_logits[0], alone.step_logits[0], atol=5e-2, rtol=5e-2)


def test_t2s_stats_and_id_checks(tiny: Text2SemanticDecoder, golden: dict) -> None:
    requests = _requests(golden, 12)
    stats = DecodeStats()
    results = decode_batch(tiny, requests, stats=stats)
    assert stats.steps == 12
    assert stats.tokens == sum(r.steps for r in results) == 12 + 12 + 6 + 12
    assert stats.prefill_s > 0
    assert stats.decode_s > 0
    bad = DecodeRequest(torch.tensor([1, 732]), torch.zeros(1024, 2), torch.tensor([3]))
    with pytest.raises(ValueError, match=r"request 1: phone ids must be in \[0, 732\)"):
        decode_batch(tiny, [requests[0], bad])
    eos_prompt = DecodeRequest(torch.tensor([1, 2]), torch.zeros(1024, 2), torch.tensor([1024]))
    with pytest.raises(ValueError, match=r"prompt semantic ids must be in \[0, 1024\)"):
        decode_uncached(tiny, eos_prompt)
