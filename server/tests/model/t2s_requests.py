"""Decode requests the slot and graph tests share, cut from the conformance fixture's golden rows."""

from __future__ import annotations

from gpt_sovits.t2s.decode import DecodeRequest, SamplingParams


def mixed_requests(golden: dict, max_new: int) -> list[DecodeRequest]:
    """Rows of different text and prompt lengths and sampling settings; three of them seeded."""
    phones, bert, prompt = golden["phones"][0], golden["bert_rand"][0], golden["prompt_semantic"][0]
    sampled = SamplingParams(top_k=15, top_p=0.9, temperature=0.8, repetition_penalty=1.35)
    return [
        DecodeRequest(phones, bert, prompt, sampled, max_new_tokens=max_new, seed=11),
        DecodeRequest(phones[:20], bert[:, :20], prompt[:7], sampled, max_new_tokens=max_new - 7, seed=12),
        DecodeRequest(
            phones[5:], bert[:, 5:], prompt[:0], SamplingParams(top_k=0), max_new_tokens=max_new, seed=13
        ),
        DecodeRequest(phones[:9], bert[:, :9], prompt, SamplingParams.greedy(), max_new_tokens=max_new // 2),
    ]


def sampled_requests(golden: dict, max_new: int) -> list[DecodeRequest]:
    """:func:`mixed_requests` all sampled (top-k 50), each with its own seed and ``max_new`` ids: on
    an EOS-prone model they end at different steps."""
    return [
        DecodeRequest(
            **{**r.__dict__, "max_new_tokens": max_new, "sampling": SamplingParams(top_k=50), "seed": i}
        )
        for i, r in enumerate(mixed_requests(golden, max_new))
    ]
