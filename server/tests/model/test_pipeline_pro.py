"""The Synthesizer with a v2ProPlus demo bundle: SV embeddings per reference, cached, batched, uploads."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from gpt_sovits.audio import load_audio, reference_peak_guard
from gpt_sovits.demo import DEMO_PROMPT_LANGUAGE, DEMO_PROMPT_TEXT, DemoBundle, ensure_demo_bundle
from gpt_sovits.errors import CheckpointError, GptSovitsError
from gpt_sovits.pipeline import SentenceJob, SynthesisParams, Synthesizer, VoiceReference
from gpt_sovits.t2s import decode_batch

CAP = 12
SAMPLES_PER_TOKEN = 1280


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> DemoBundle:
    return ensure_demo_bundle(tmp_path_factory.mktemp("demo"), version="v2ProPlus")


@pytest.fixture(scope="module")
def synth(bundle: DemoBundle) -> Synthesizer:
    return Synthesizer.load(
        bundle.gpt_weights,
        bundle.sovits_weights,
        None,
        bundle.hubert_dir,
        device="cpu",
        precision="fp32",
        sv_weights=bundle.sv_weights,
    )


@pytest.fixture
def sv_calls(synth: Synthesizer) -> list[int]:
    """Counts forward passes of the SV network while the test runs."""
    assert synth.sv is not None
    calls: list[int] = []
    handle = synth.sv.net.register_forward_hook(lambda *_: calls.append(1))
    yield calls
    handle.remove()


def _params(seed: int = 7, **changes: object) -> SynthesisParams:
    base: dict[str, object] = {"language": "zh", "seed": seed, "max_tokens_per_sentence": CAP}
    base.update(changes)
    return SynthesisParams(**base)  # type: ignore[arg-type]


def _wave(result: np.ndarray | GptSovitsError) -> np.ndarray:
    assert isinstance(result, np.ndarray), result
    return result


def _voice(bundle: DemoBundle, folder: Path, one_off: bool = False) -> VoiceReference:
    path = folder / "voice.wav"
    shutil.copyfile(bundle.reference_audio, path)
    return VoiceReference(path, DEMO_PROMPT_TEXT, DEMO_PROMPT_LANGUAGE, one_off=one_off)


def test_pro_bundle_reports_its_version(synth: Synthesizer, bundle: DemoBundle) -> None:
    assert bundle.version == synth.version == "v2ProPlus"
    assert bundle.sv_weights is not None
    assert bundle.sv_weights in bundle.files()
    assert synth.sv is not None
    assert synth.sv.embedding_dim == synth.sovits.config.sv_dim


def test_pro_pipeline_matches_the_models_composed_by_hand(
    synth: Synthesizer, bundle: DemoBundle, tmp_path: Path
) -> None:
    voice = _voice(bundle, tmp_path)
    text, seed = "今天天气很好。", 5
    prepared = synth.prepare(SentenceJob(text, voice, _params(seed)))
    ref = prepared.reference
    assert synth.sv is not None
    wave32k = torch.from_numpy(reference_peak_guard(load_audio(voice.ref_audio, synth.sample_rate)))
    sv_embedding = synth.sv.embed(wave32k, synth.sample_rate)
    assert ref.speaker_verification is not None
    torch.testing.assert_close(ref.speaker_verification, sv_embedding, rtol=0, atol=0)
    tokens = decode_batch(synth.t2s, [prepared.request])[0].tokens
    wave = _wave(synth.synthesize_batch([SentenceJob(text, voice, _params(seed))])[0])
    expected = synth.sovits.decode(
        tokens.view(1, 1, -1),
        prepared.target_phones.unsqueeze(0),
        refer=[ref.spectrogram],
        sv=[sv_embedding],
        noise_scale=0.5,
        generator=torch.Generator().manual_seed(seed),
    )[0, 0]
    assert wave.shape[0] == SAMPLES_PER_TOKEN * tokens.numel()
    np.testing.assert_allclose(wave, expected.numpy(), rtol=0, atol=1e-6)


def test_pro_speaker_embedding_is_computed_once_per_reference(
    synth: Synthesizer, bundle: DemoBundle, tmp_path: Path, sv_calls: list[int]
) -> None:
    voice = _voice(bundle, tmp_path)
    computed, svs, hits = synth.reference_computations, synth.sv_computations, synth.reference_cache_hits
    synth.synthesize_batch(
        [SentenceJob("你好。", voice, _params(1)), SentenceJob("世界。", voice, _params(2))]
    )
    assert len(sv_calls) == 1
    assert (synth.reference_computations, synth.sv_computations) == (computed + 1, svs + 1)
    assert synth.reference_cache_hits == hits + 1
    # A cache hit runs no SV forward pass.
    synth.synthesize_batch([SentenceJob("再见。", voice, _params(3))])
    assert len(sv_calls) == 1
    assert synth.sv_computations == svs + 1
    assert synth.reference_cache_hits == hits + 2


def test_pro_upload_gets_its_own_embedding_in_the_one_off_cache(
    synth: Synthesizer, bundle: DemoBundle, tmp_path: Path, sv_calls: list[int]
) -> None:
    upload = _voice(bundle, tmp_path, one_off=True)
    features = synth.reference(upload)
    assert features.speaker_verification is not None
    assert synth.reference(upload) is features
    assert len(sv_calls) == 1
    wave = _wave(synth.synthesize_batch([SentenceJob("你好。", upload, _params())])[0])
    assert np.isfinite(wave).all()
    assert len(sv_calls) == 1


def test_pro_batched_equals_one_at_a_time(synth: Synthesizer, bundle: DemoBundle, tmp_path: Path) -> None:
    voice = _voice(bundle, tmp_path)
    free = VoiceReference(bundle.reference_audio)
    jobs = [
        SentenceJob("你好，世界。", voice, _params(1)),
        SentenceJob("Hello there.", free, _params(2, language="en")),
        SentenceJob("好的。", voice, _params(3, speed=1.25)),
    ]
    together = synth.synthesize_batch(jobs)
    for job, batched in zip(jobs, together, strict=True):
        np.testing.assert_allclose(_wave(batched), _wave(synth.synthesize_batch([job])[0]), rtol=0, atol=1e-5)


def test_pro_reference_free_voice_still_gets_the_embedding(synth: Synthesizer, bundle: DemoBundle) -> None:
    features = synth.reference(VoiceReference(bundle.reference_audio))
    assert features.reference_free
    assert features.speaker_verification is not None
    assert features.speaker is not None


def test_pro_checkpoint_without_its_sv_model_is_named(bundle: DemoBundle) -> None:
    with pytest.raises(CheckpointError, match=r"demo-sovits\.pth: a v2ProPlus SoVITS checkpoint needs the"):
        Synthesizer.load(bundle.gpt_weights, bundle.sovits_weights, device="cpu", precision="fp32")


def test_pro_wrong_sv_files_are_named(bundle: DemoBundle, v2pro_dir: Path, tmp_path: Path) -> None:
    def load(sv: Path) -> Synthesizer:
        return Synthesizer.load(
            bundle.gpt_weights, bundle.sovits_weights, device="cpu", precision="fp32", sv_weights=sv
        )

    # A real SV model of another width than the SoVITS model takes.
    with pytest.raises(
        CheckpointError, match=r"sv_tiny\.ckpt: this speaker-verification model gives \d+-wide"
    ):
        load(v2pro_dir / "sv_tiny.ckpt")
    with pytest.raises(
        CheckpointError, match=r"demo-sovits\.pth: this is a SoVITS checkpoint \(v2ProPlus header\), not the"
    ):
        load(bundle.sovits_weights)
    with pytest.raises(
        CheckpointError, match=r"demo-gpt\.ckpt: this is a GPT \(text-to-semantic\) checkpoint"
    ):
        load(bundle.gpt_weights)
    assert bundle.sv_weights is not None
    cut = tmp_path / "cut.ckpt"
    data = bundle.sv_weights.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.ckpt: truncated or corrupt speaker-verification model"):
        load(cut)
    with pytest.raises(CheckpointError, match=r"absent\.ckpt: speaker-verification model not found"):
        load(tmp_path / "absent.ckpt")


def test_v2_model_leaves_the_sv_file_unread(conformance_dir: Path, tmp_path: Path) -> None:
    synth = Synthesizer.load(
        conformance_dir / "t2s_tiny.ckpt",
        conformance_dir / "sovits_tiny.pth",
        device="cpu",
        precision="fp32",
        sv_weights=tmp_path / "absent.ckpt",
    )
    assert synth.version == "v2"
    assert synth.sv is None


@pytest.mark.parametrize("name", ["sovits_v2pro_tiny.pth", "sovits_v2proplus_tiny.pth"])
def test_pro_conformance_checkpoints_need_a_matching_sv_model(
    conformance_dir: Path, v2pro_dir: Path, name: str
) -> None:
    gpt, sovits = conformance_dir / "t2s_tiny.ckpt", v2pro_dir / name
    with pytest.raises(
        CheckpointError, match=rf"{name.replace('.', '[.]')}: a v2Pro\w* SoVITS checkpoint needs"
    ):
        Synthesizer.load(gpt, sovits, device="cpu", precision="fp32")
    # The tiny SV model gives reduced-width embeddings; these files take released-width ones.
    with pytest.raises(CheckpointError, match=r"sv_tiny[.]ckpt: this speaker-verification model gives"):
        Synthesizer.load(gpt, sovits, device="cpu", precision="fp32", sv_weights=v2pro_dir / "sv_tiny.ckpt")
