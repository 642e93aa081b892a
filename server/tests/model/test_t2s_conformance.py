"""The T2S decoder against the official outputs stored in the conformance fixtures."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from gpt_sovits.t2s.decode import DecodeRequest, SamplingParams, decode_batch, decode_one
from gpt_sovits.t2s.model import Text2SemanticDecoder

# Tolerances from the fixtures' README (float32 CPU re-implementation).
ATOL, RTOL = 2e-5, 1e-5
GREEDY_CASES = ["zero_rep135", "zero_rep100", "rand_rep135", "rand_rep100"]


def test_t2s_tiny_sizes_come_from_the_file(tiny: Text2SemanticDecoder, manifest: dict[str, Any]) -> None:
    cfg = tiny.config
    for key, value in manifest["t2s_model_overrides"].items():
        assert getattr(cfg, key) == value, key
    # v2 symbol table and semantic vocabulary (1024 codes + EOS).
    assert (cfg.phoneme_vocab_size, cfg.vocab_size) == (732, 1025)
    assert tiny.dtype == torch.float32
    assert len(tiny.h.layers) == manifest["t2s_model_overrides"]["n_layer"]


def test_t2s_text_embedding_plus_positions(tiny: Text2SemanticDecoder, golden: dict) -> None:
    phones = golden["phones"]
    with torch.inference_mode():
        got = tiny.embed_text(phones, golden["bert_rand"], torch.arange(phones.shape[1]).unsqueeze(0))
    torch.testing.assert_close(got, golden["text_embed_plus_pos"], atol=ATOL, rtol=RTOL)


def test_t2s_teacher_forced_hidden_and_logits(tiny: Text2SemanticDecoder, golden: dict) -> None:
    assert golden["tf_bert"] == "bert_rand"
    with torch.inference_mode():
        hidden, logits = tiny.teacher_forced(golden["phones"], golden["bert_rand"], golden["tf_semantic"])
    torch.testing.assert_close(hidden, golden["tf_hidden"], atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(logits, golden["tf_logits"], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("case", GREEDY_CASES)
def test_t2s_greedy_tokens_and_step_logits(tiny: Text2SemanticDecoder, golden: dict, case: str) -> None:
    bert = golden["bert_" + case.split("_")[0]]
    penalty = 1.35 if case.endswith("135") else 1.0
    prompt = golden["prompt_semantic"][0]
    # The single-request path keeps every id it generates (early_stop_num + 1 of them).
    generated = golden[f"greedy_{case}_y"].shape[-1] - prompt.numel()
    request = DecodeRequest(
        golden["phones"][0], bert[0], prompt, SamplingParams.greedy(penalty), max_new_tokens=generated
    )
    result = decode_one(tiny, request, record_logits=True)

    assert not result.stopped_by_eos
    assert result.steps - 1 == int(golden[f"greedy_{case}_idx"])
    assert torch.equal(torch.cat([prompt, result.tokens]), golden[f"greedy_{case}_y"][0])
    expected = golden[f"greedy_{case}_step_logits"]
    assert result.step_logits is not None
    torch.testing.assert_close(result.step_logits[: expected.shape[0]], expected, atol=ATOL, rtol=RTOL)


def test_t2s_batched_golden(tiny: Text2SemanticDecoder, golden: dict) -> None:
    prompt = golden["prompt_semantic"][0]
    kept = golden["batch_y"][0].shape[-1] - prompt.numel()
    # The official batched path computes one id more than it keeps at early stop.
    requests = [
        DecodeRequest(phones, bert, prompt, SamplingParams.greedy(1.35), max_new_tokens=kept + 1)
        for phones, bert in zip(golden["batch_x"], golden["batch_bert"], strict=True)
    ]
    results = decode_batch(tiny, requests)
    assert [r.steps - 1 for r in results] == golden["batch_idx"].tolist()
    for result, expected in zip(results, golden["batch_y"], strict=True):
        assert not result.stopped_by_eos
        assert torch.equal(torch.cat([prompt, result.tokens[:kept]]), expected)
