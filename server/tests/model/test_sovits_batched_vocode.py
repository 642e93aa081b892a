"""SoVITS work of several sentences and stream chunks in one call: the flow and the generator run
once per group of same-shape windows, and every item's audio is the one its lone decode gives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from gpt_sovits.demo import DEMO_PROMPT_LANGUAGE, DEMO_PROMPT_TEXT, DemoBundle
from gpt_sovits.errors import GptSovitsError
from gpt_sovits.pipeline import (
    ChunkVocode,
    PreparedSentence,
    SemanticSentence,
    SentenceJob,
    SynthesisParams,
    Synthesizer,
    VoiceReference,
)
from gpt_sovits.sovits.demo import demo_config, random_sovits
from gpt_sovits.sovits.model import PriorSample, SovitsSynthesizer

# Batched convolutions may sum in another order than lone ones; nothing more may differ.
ATOL = 1e-5
CAP = 20  # ids per sentence (the demo GPT rarely emits EOS)


@pytest.fixture(scope="module")
def model() -> SovitsSynthesizer:
    return random_sovits(demo_config())


def _sample(
    model: SovitsSynthesizer, seed: int, frames: int, skip: int = 0, speaker: bool = True
) -> PriorSample:
    gen = torch.Generator().manual_seed(seed)
    z_p = torch.randn(1, model.config.inter_channels, frames, generator=gen)
    ge = model.speaker_embedding([torch.rand(1, 1025, 60, generator=gen)]) if speaker else None
    return PriorSample(z_p, ge, skip=skip)


def test_same_shape_windows_decode_together_as_they_do_alone(model: SovitsSynthesizer) -> None:
    samples = [_sample(model, seed, frames=40, skip=6) for seed in (1, 2, 3)]
    together = model.synthesize(samples)
    for sample, batched in zip(samples, together, strict=True):
        (alone,) = model.synthesize([sample])
        assert batched.shape == alone.shape == ((40 - 6) * model.config.samples_per_frame,)
        torch.testing.assert_close(batched, alone, rtol=0, atol=ATOL)
    assert not torch.allclose(together[0], together[1])  # other speakers, other noise: other audio
    free = [_sample(model, seed, frames=24, speaker=False) for seed in (4, 5)]
    for sample, batched in zip(free, model.synthesize(free), strict=True):
        torch.testing.assert_close(batched, model.synthesize([sample])[0], rtol=0, atol=ATOL)


@pytest.mark.parametrize(
    "other",
    [{"frames": 41}, {"frames": 40, "skip": 0}, {"frames": 40, "speaker": False}],
    ids=["length", "context", "speaker"],
)
def test_windows_of_different_shapes_are_refused_as_one_batch(model: SovitsSynthesizer, other: dict) -> None:
    with pytest.raises(ValueError, match="one shape"):
        model.synthesize([_sample(model, 1, frames=40, skip=6), _sample(model, 2, **{"skip": 6, **other})])


def _semantic(synth: Synthesizer, jobs: list[SentenceJob]) -> list[SemanticSentence]:
    results = synth.semantic_batch(jobs)
    assert all(isinstance(r, SemanticSentence) for r in results)
    return [r for r in results if isinstance(r, SemanticSentence)]


def _recording(synth: Synthesizer, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The batch size of every flow-and-generator call."""
    sizes: list[int] = []
    synthesize = synth.sovits.synthesize

    def recording(samples: Any) -> Any:
        sizes.append(len(samples))
        return synthesize(samples)

    monkeypatch.setattr(synth.sovits, "synthesize", recording)
    return sizes


def _audio(result: np.ndarray | GptSovitsError) -> np.ndarray:
    assert isinstance(result, np.ndarray), result
    return result


def test_sentences_of_one_length_share_a_call_and_each_sounds_as_alone(
    synth: Synthesizer, bundle: DemoBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice = VoiceReference(bundle.reference_audio, DEMO_PROMPT_TEXT, DEMO_PROMPT_LANGUAGE)
    free = VoiceReference(bundle.reference_audio)

    def params(seed: int, **changes: Any) -> SynthesisParams:
        return SynthesisParams(**{"language": "zh", "seed": seed, "max_tokens_per_sentence": CAP, **changes})

    jobs = [
        SentenceJob("你好，世界。", voice, params(1)),
        SentenceJob("今天我们一起去公园散步，好吗？", voice, params(2, noise_scale=0.3)),
        SentenceJob("Hello there.", voice, params(3, language="en")),
        SentenceJob("好的。", voice, params(4, max_tokens_per_sentence=12)),  # another length
        SentenceJob("谢谢你。", voice, params(5, speed=1.5)),  # another frame count
        SentenceJob("再见。", free, params(6)),  # reference-free: no prompt ids, still the clip's speaker
    ]
    sentences = _semantic(synth, jobs)
    alone = [_audio(synth.vocode(sentence)) for sentence in sentences]
    sizes = _recording(synth, monkeypatch)
    together = synth.vocode_batch(sentences)
    assert {s.tokens.numel() for s in (*sentences[:3], sentences[5])} == {CAP}
    assert sizes == [4, 1, 1]  # the first item's group first, then in order of first appearance
    for batched, lone in zip(together, alone, strict=True):
        np.testing.assert_allclose(_audio(batched), lone, rtol=0, atol=ATOL)


def test_stream_chunks_of_several_sentences_share_calls_and_each_sounds_as_alone(
    synth: Synthesizer, bundle: DemoBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice = VoiceReference(bundle.reference_audio, DEMO_PROMPT_TEXT, DEMO_PROMPT_LANGUAGE)
    jobs = [
        SentenceJob(text, voice, SynthesisParams(language="zh", seed=seed, max_tokens_per_sentence=40))
        for seed, text in ((11, "第一个句子慢慢地说。"), (12, "第二个句子也一样。"), (13, "第三个。"))
    ]
    sentences = _semantic(synth, jobs)
    prepared: list[PreparedSentence] = [s.prepared for s in sentences]
    cuts = [8, 16, 24, 32]

    def chunks(decoders: list[Any], cut: int | None) -> list[ChunkVocode]:
        return [
            ChunkVocode(d, s.tokens if cut is None else s.tokens[:cut], final=cut is None)
            for d, s in zip(decoders, sentences, strict=True)
        ]

    lone_decoders = [synth.chunked_decoder(p, overlap_tokens=2) for p in prepared]
    alone = [
        [synth.vocode_chunk(item.decoder, item.tokens, item.final) for item in chunks(lone_decoders, cut)]
        for cut in [*cuts, None]
    ]
    sizes = _recording(synth, monkeypatch)
    decoders = [synth.chunked_decoder(p, overlap_tokens=2) for p in prepared]
    together = [synth.vocode_batch(chunks(decoders, cut)) for cut in [*cuts, None]]
    # Every cut's windows have one shape across the three sentences (the last one's too: all
    # reach the 40-id cap), so each cut is one call.
    assert sizes == [3] * (len(cuts) + 1)
    for batched_cut, lone_cut in zip(together, alone, strict=True):
        for batched, lone in zip(batched_cut, lone_cut, strict=True):
            np.testing.assert_allclose(_audio(batched), lone, rtol=0, atol=ATOL)
