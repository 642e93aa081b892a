"""The Synthesizer end to end on the demo bundle: real loaders, real frontend, real models."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from transformers import BertConfig, BertModel

from gpt_sovits.audio import load_audio
from gpt_sovits.bert import BERT_DIM
from gpt_sovits.demo import DEMO_PROMPT_LANGUAGE, DEMO_PROMPT_TEXT, DemoBundle
from gpt_sovits.device import DeviceError
from gpt_sovits.errors import AudioError, CheckpointError, GptSovitsError, TextError, UnsupportedLanguageError
from gpt_sovits.pipeline import SentenceJob, SynthesisParams, Synthesizer, VoiceReference
from gpt_sovits.ssl import SSL_SAMPLE_RATE, prompt_wave
from gpt_sovits.t2s import DecodeRequest, decode_batch
from gpt_sovits.text.frontend import text_to_phones

# One semantic id is 1/25 s: two latent frames of 640 samples at 32 kHz.
SAMPLES_PER_TOKEN = 1280
# The demo GPT is random and rarely emits EOS: keep sentences short.
CAP = 20


@pytest.fixture(scope="module")
def voice(bundle: DemoBundle) -> VoiceReference:
    return VoiceReference(bundle.reference_audio, DEMO_PROMPT_TEXT, DEMO_PROMPT_LANGUAGE)


def _params(seed: int | None = 7, **changes: object) -> SynthesisParams:
    base: dict[str, object] = {"language": "zh", "seed": seed, "max_tokens_per_sentence": CAP}
    base.update(changes)
    return SynthesisParams(**base)  # type: ignore[arg-type]


def _wave(result: np.ndarray | GptSovitsError) -> np.ndarray:
    assert isinstance(result, np.ndarray), result
    return result


def _copy_reference(bundle: DemoBundle, folder: Path) -> Path:
    path = folder / "voice.wav"
    shutil.copyfile(bundle.reference_audio, path)
    return path


def test_pipeline_sentence_is_finite_mono_float32(synth: Synthesizer, voice: VoiceReference) -> None:
    wave = _wave(synth.synthesize_batch([SentenceJob("你好，世界。", voice, _params())])[0])
    assert synth.sample_rate == 32000
    assert wave.dtype == np.float32
    assert wave.ndim == 1
    assert np.isfinite(wave).all()
    assert 0 < np.abs(wave).max() <= 1.0
    # A whole number of semantic ids, at most the cap.
    assert wave.shape[0] % SAMPLES_PER_TOKEN == 0
    assert 0 < wave.shape[0] <= CAP * SAMPLES_PER_TOKEN


def test_pipeline_matches_the_models_composed_by_hand(synth: Synthesizer, voice: VoiceReference) -> None:
    text, seed = "今天天气很好。", 11
    params = _params(seed)
    wave = _wave(synth.synthesize_batch([SentenceJob(text, voice, params)])[0])

    # Prompt ids: HuBERT on the 16 kHz clip (+ silent tail) → ssl_proj → quantizer.
    assert synth.ssl is not None
    ref = synth.reference(voice)
    features = synth.ssl(prompt_wave(load_audio(voice.ref_audio, SSL_SAMPLE_RATE)))
    torch.testing.assert_close(ref.prompt_semantic, synth.sovits.extract_latent(features)[0, 0])
    # GPT input: prompt phones ++ target phones (BERT zeros without a BERT model); SoVITS: target only.
    prompt_ids = text_to_phones(DEMO_PROMPT_TEXT, "zh").phone_ids
    assert ref.prompt_phones.tolist() == prompt_ids
    target = torch.tensor(text_to_phones(text, "zh").phone_ids)
    phones = torch.cat([ref.prompt_phones, target])
    request = DecodeRequest(
        phones=phones,
        bert=torch.zeros(BERT_DIM, phones.numel()),
        prompt=ref.prompt_semantic,
        sampling=params.sampling,
        max_new_tokens=CAP,
        seed=seed,
    )
    tokens = decode_batch(synth.t2s, [request])[0].tokens
    expected = synth.sovits.decode(
        tokens.view(1, 1, -1),
        target.unsqueeze(0),
        refer=[ref.spectrogram],
        noise_scale=0.5,
        generator=torch.Generator().manual_seed(seed),
    )[0, 0]
    assert wave.shape[0] == SAMPLES_PER_TOKEN * tokens.numel()
    np.testing.assert_allclose(wave, expected.numpy(), rtol=0, atol=1e-6)


def test_pipeline_is_deterministic_for_a_seed(synth: Synthesizer, voice: VoiceReference) -> None:
    job = SentenceJob("我们是朋友。", voice, _params(3))
    first = _wave(synth.synthesize_batch([job])[0])
    again = _wave(synth.synthesize_batch([job])[0])
    other = _wave(synth.synthesize_batch([SentenceJob(job.text, voice, _params(4))])[0])
    np.testing.assert_array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)


def test_pipeline_batched_equals_one_at_a_time(
    synth: Synthesizer, voice: VoiceReference, bundle: DemoBundle
) -> None:
    free = VoiceReference(bundle.reference_audio)
    jobs = [
        SentenceJob("你好，世界。", voice, _params(1)),
        SentenceJob("Hello there, how are you today?", free, _params(2, language="en", top_k=5)),
        SentenceJob(
            "今天我们一起去公园散步，好吗？", voice, _params(3, temperature=0.8, max_tokens_per_sentence=12)
        ),
        SentenceJob("好的。", free, _params(4, speed=1.5, repetition_penalty=1.0)),
    ]
    together = synth.synthesize_batch(jobs)
    assert len(together) == len(jobs)
    for job, batched in zip(jobs, together, strict=True):
        alone = _wave(synth.synthesize_batch([job])[0])
        np.testing.assert_allclose(_wave(batched), alone, rtol=0, atol=1e-5)


def test_pipeline_errors_are_per_job(synth: Synthesizer, voice: VoiceReference, tmp_path: Path) -> None:
    good = SentenceJob("你好，世界。", voice, _params(5))
    jobs = [
        SentenceJob("你好。", VoiceReference(tmp_path / "missing.wav", "你好。", "zh"), _params()),
        good,
        SentenceJob("こんにちは。", voice, _params(language="xx")),
        SentenceJob("。。。", voice, _params()),
    ]
    results = synth.synthesize_batch(jobs)
    assert isinstance(results[0], AudioError)
    assert "missing.wav" in str(results[0])
    assert isinstance(results[2], UnsupportedLanguageError)
    assert isinstance(results[3], TextError)
    # Failing batch mates do not change a good job's audio.
    np.testing.assert_allclose(_wave(results[1]), _wave(synth.synthesize_batch([good])[0]), atol=1e-5)


def test_pipeline_request_errors(synth: Synthesizer, voice: VoiceReference, tmp_path: Path) -> None:
    with pytest.raises(TextError, match="empty"):
        synth.synthesize("", voice, _params())
    with pytest.raises(TextError):
        synth.synthesize("  \n", voice, _params())
    with pytest.raises(UnsupportedLanguageError, match="'xx'"):
        synth.synthesize("こんにちは。", voice, _params(language="xx"))
    with pytest.raises(AudioError, match=r"nowhere\.wav: reference audio file not found"):
        synth.synthesize("你好。", VoiceReference(tmp_path / "nowhere.wav", "你好。"), _params())
    with pytest.raises(TextError, match="unknown text split method"):
        synth.synthesize("你好。", voice, _params(text_split_method="cut9"))


def test_pipeline_reference_of_the_wrong_length_is_refused(synth: Synthesizer, tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    soundfile.write(str(short), np.zeros(32000, dtype=np.float32), 32000)
    with pytest.raises(AudioError, match="3 to 10 seconds"):
        synth.reference(VoiceReference(short, "你好。"))


def test_pipeline_request_joins_sentences_with_silence(synth: Synthesizer, voice: VoiceReference) -> None:
    text = "你好，世界。今天天气很好，我们出去走走吧。"
    params = _params(9, text_split_method="cut3", fragment_interval_s=0.25)
    sentences = synth.split(text, "zh", "cut3")
    assert len(sentences) == 2
    wave = synth.synthesize(text, voice, params)
    pieces = [_wave(r) for r in synth.synthesize_batch(synth.jobs(text, voice, params))]
    gap = np.zeros(8000, dtype=np.float32)
    np.testing.assert_array_equal(wave, np.concatenate([pieces[0], gap, pieces[1], gap]))
    # Sentence i runs with seed + i: distinct noise streams, each reproducible on its own.
    assert [job.params.seed for job in synth.jobs(text, voice, params)] == [9, 10]


def test_pipeline_speed_changes_the_frame_count(synth: Synthesizer, voice: VoiceReference) -> None:
    normal = _wave(synth.synthesize_batch([SentenceJob("你好，世界。", voice, _params(6))])[0])
    faster = _wave(synth.synthesize_batch([SentenceJob("你好，世界。", voice, _params(6, speed=2.0))])[0])
    tokens = normal.shape[0] // SAMPLES_PER_TOKEN
    # Same ids (the GPT does not see speed); SoVITS stretches 2·tokens frames to int(2·tokens/speed)+1.
    assert faster.shape[0] == (int(2 * tokens / 2.0) + 1) * 640


def test_pipeline_reference_features_are_cached(
    synth: Synthesizer, bundle: DemoBundle, tmp_path: Path
) -> None:
    path = _copy_reference(bundle, tmp_path)
    voice = VoiceReference(path, DEMO_PROMPT_TEXT, "zh")
    before = synth.reference_computations
    first = synth.reference(voice)
    assert synth.reference(voice) is first
    synth.synthesize_batch([SentenceJob("你好。", voice, _params()), SentenceJob("世界。", voice, _params())])
    assert synth.reference_computations == before + 1

    # Another transcript, or a rewritten file, is another reference.
    synth.reference(VoiceReference(path, "你好。", "zh"))
    assert synth.reference_computations == before + 2
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert synth.reference(voice) is not first
    assert synth.reference_computations == before + 3


def test_pipeline_reference_free_mode(synth: Synthesizer, bundle: DemoBundle) -> None:
    free = VoiceReference(bundle.reference_audio)
    features = synth.reference(free)
    assert features.reference_free
    assert features.prompt_phones.numel() == 0
    assert features.speaker is not None
    wave = _wave(synth.synthesize_batch([SentenceJob("你好，世界。", free, _params())])[0])
    assert np.isfinite(wave).all()
    assert wave.shape[0] % SAMPLES_PER_TOKEN == 0


def test_pipeline_leaves_the_models_unchanged(synth: Synthesizer, voice: VoiceReference) -> None:
    before = {k: v.clone() for k, v in synth.t2s.state_dict().items()}
    before.update({f"sovits.{k}": v.clone() for k, v in synth.sovits.state_dict().items()})
    synth.synthesize("你好，世界。", voice, _params())
    after = dict(synth.t2s.state_dict())
    after.update({f"sovits.{k}": v for k, v in synth.sovits.state_dict().items()})
    for key, value in before.items():
        assert torch.equal(value, after[key]), key


def test_pipeline_default_token_budget_follows_phones() -> None:
    params = SynthesisParams()
    assert params.token_budget(10) == 50 + 8 * 10
    assert params.token_budget(1000) == 1500
    assert SynthesisParams(max_tokens_per_sentence=5).token_budget(100) == 5
    with pytest.raises(ValueError, match="speed"):
        SynthesisParams(speed=0)
    with pytest.raises(ValueError, match="seed"):
        SynthesisParams(seed=-1)


def test_pipeline_without_hubert_only_serves_reference_free_voices(
    bundle: DemoBundle, voice: VoiceReference
) -> None:
    synth = Synthesizer.load(bundle.gpt_weights, bundle.sovits_weights, device="cpu", precision="fp32")
    results = synth.synthesize_batch(
        [
            SentenceJob("你好。", voice, _params()),
            SentenceJob("你好。", VoiceReference(bundle.reference_audio), _params()),
        ]
    )
    assert isinstance(results[0], CheckpointError)
    assert "HuBERT" in str(results[0])
    assert isinstance(results[1], np.ndarray)


def test_pipeline_load_errors(bundle: DemoBundle, tmp_path: Path) -> None:
    with pytest.raises(DeviceError, match="needs a CUDA GPU"):
        Synthesizer.load(bundle.gpt_weights, bundle.sovits_weights, device="cpu", precision="fp16")
    with pytest.raises(CheckpointError, match=r"missing\.ckpt"):
        Synthesizer.load(tmp_path / "missing.ckpt", bundle.sovits_weights, device="cpu")
    with pytest.raises(CheckpointError, match="HuBERT model folder not found"):
        Synthesizer.load(
            bundle.gpt_weights, bundle.sovits_weights, hubert_dir=tmp_path / "nohubert", device="cpu"
        )
    with pytest.raises(CheckpointError, match="BERT model folder not found"):
        Synthesizer.load(
            bundle.gpt_weights, bundle.sovits_weights, bert_dir=tmp_path / "nobert", device="cpu"
        )


def _tiny_bert_folder(folder: Path) -> Path:
    """A random 2-layer BERT of the real width (1024) with a few-character vocabulary."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"你好世界这是一段演示用的参考音频,.!?"]
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=BERT_DIM,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


def test_pipeline_feeds_bert_features_for_chinese(
    synth: Synthesizer, bundle: DemoBundle, voice: VoiceReference, tmp_path: Path
) -> None:
    with_bert = Synthesizer.load(
        bundle.gpt_weights,
        bundle.sovits_weights,
        _tiny_bert_folder(tmp_path / "bert"),
        bundle.hubert_dir,
        device="cpu",
        precision="fp32",
    )
    ref = with_bert.reference(voice)
    assert ref.prompt_bert.shape == (BERT_DIM, ref.prompt_phones.numel())
    assert ref.prompt_bert.abs().sum() > 0
    # Same ids and seed; only the BERT features differ, and the GPT reads them.
    job = SentenceJob("你好，世界。", voice, _params(8))
    plain = _wave(synth.synthesize_batch([job])[0])
    bert_wave = _wave(with_bert.synthesize_batch([job])[0])
    assert np.isfinite(bert_wave).all()
    assert plain.shape != bert_wave.shape or not np.array_equal(plain, bert_wave)


def test_pipeline_concurrent_calls_match_sequential_ones(synth: Synthesizer, voice: VoiceReference) -> None:
    jobs = [SentenceJob("你好，世界。", voice, _params(21)), SentenceJob("我们是朋友。", voice, _params(22))]
    expected = [_wave(synth.synthesize_batch([job])[0]) for job in jobs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(lambda job: _wave(synth.synthesize_batch([job])[0]), jobs))
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_pipeline_runs_the_conformance_checkpoints(conformance_dir: Path, bundle: DemoBundle) -> None:
    # The official-format fixtures (a fine-tuned-export SoVITS file) go through the same loaders.
    synth = Synthesizer.load(
        conformance_dir / "t2s_tiny.ckpt", conformance_dir / "sovits_tiny.pth", device="cpu", precision="fp32"
    )
    wave = synth.synthesize("Hello world.", VoiceReference(bundle.reference_audio), _params(language="en"))
    assert wave.dtype == np.float32
    assert np.isfinite(wave).all()
    assert wave.shape[0] > 9600


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_pipeline_half_precision_on_gpu(bundle: DemoBundle, voice: VoiceReference, precision: str) -> None:
    synth = Synthesizer.load(
        bundle.gpt_weights, bundle.sovits_weights, None, bundle.hubert_dir, device="cuda", precision=precision
    )
    jobs = [SentenceJob("你好，世界。", voice, _params(1)), SentenceJob("今天天气很好。", voice, _params(2))]
    together = synth.synthesize_batch(jobs)
    for job, batched in zip(jobs, together, strict=True):
        wave = _wave(batched)
        assert np.isfinite(wave).all()
        assert wave.shape[0] % SAMPLES_PER_TOKEN == 0
        assert _wave(synth.synthesize_batch([job])[0]).shape == wave.shape
