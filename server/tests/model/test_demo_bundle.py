"""The demo bundle: complete, loadable through the real loaders, labelled, deterministic, cached."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from gpt_sovits.demo import DemoBundle, ensure_demo_bundle, synthetic_reference
from gpt_sovits.sovits import load_sovits
from gpt_sovits.ssl import SslFeatureExtractor
from gpt_sovits.sv import load_eres2net
from gpt_sovits.t2s import load_t2s
from gpt_sovits.t2s.checkpoint import read_t2s_checkpoint
from voice_server.speakers import parse_speakers


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> DemoBundle:
    return ensure_demo_bundle(tmp_path_factory.mktemp("demo"))


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return model.state_dict()


def test_demo_bundle_has_every_file(bundle: DemoBundle) -> None:
    for path in bundle.files():
        assert path.is_file(), path
    assert bundle.bert_dir is None


def test_demo_bundle_loads_through_the_real_loaders(bundle: DemoBundle) -> None:
    t2s = load_t2s(bundle.gpt_weights)
    sovits = load_sovits(bundle.sovits_weights)
    ssl = SslFeatureExtractor.from_folder(bundle.hubert_dir)
    assert t2s.config.phoneme_vocab_size == sovits.config.n_symbols
    features = ssl(np.zeros(16000, dtype=np.float32))
    # The HuBERT stand-in has the real width and hop: it feeds SoVITS' ssl_proj.
    assert features.shape == (1, sovits.config.ssl_dim, 49)
    assert sovits.extract_latent(features).shape == (1, 1, 24)


def test_demo_bundle_is_labelled_non_speech(bundle: DemoBundle) -> None:
    manifest = json.loads((bundle.folder / "demo.json").read_text(encoding="utf-8"))
    assert "NOT speech" in manifest["notice"]
    assert "non-speech" in read_t2s_checkpoint(bundle.gpt_weights).info
    assert "non-speech" in bundle.speakers_file.read_text(encoding="utf-8")


def test_demo_speakers_file_is_what_the_server_reads(bundle: DemoBundle) -> None:
    speakers = parse_speakers(bundle.speakers_file.read_text(encoding="utf-8"))
    assert set(speakers) == {"demo", "demo-free", "demo-ja"}
    assert speakers["demo-ja"].prompt_language == "ja"
    assert speakers["demo"].ref_audio == bundle.reference_audio
    assert speakers["demo"].prompt_text
    assert speakers["demo"].prompt_language == "zh"
    assert speakers["demo-free"].prompt_text == ""


def test_demo_reference_clip_is_usable(bundle: DemoBundle) -> None:
    wave, rate = soundfile.read(str(bundle.reference_audio), dtype="float32")
    assert rate == 32000
    assert wave.ndim == 1
    assert 3.0 <= wave.shape[0] / rate <= 10.0
    assert np.isfinite(wave).all()
    assert 0.1 < np.abs(wave).max() <= 0.5 + 1e-3


def test_demo_bundle_second_call_reuses_the_files(bundle: DemoBundle) -> None:
    stamps = {p: p.stat().st_mtime_ns for p in bundle.files()}
    again = ensure_demo_bundle(bundle.folder)
    assert again == bundle
    assert {p: p.stat().st_mtime_ns for p in again.files()} == stamps


def test_demo_bundle_is_deterministic_and_rebuilds_when_incomplete(
    bundle: DemoBundle, tmp_path: Path
) -> None:
    other = ensure_demo_bundle(tmp_path)
    for mine, theirs in [
        (_state(load_t2s(bundle.gpt_weights)), _state(load_t2s(other.gpt_weights))),
        (_state(load_sovits(bundle.sovits_weights)), _state(load_sovits(other.sovits_weights))),
        (
            _state(SslFeatureExtractor.from_folder(bundle.hubert_dir).model),
            _state(SslFeatureExtractor.from_folder(other.hubert_dir).model),
        ),
    ]:
        assert mine.keys() == theirs.keys()
        for key in mine:
            torch.testing.assert_close(mine[key], theirs[key], rtol=0, atol=0)
    assert bundle.reference_audio.read_bytes() == other.reference_audio.read_bytes()

    # A missing file makes the bundle incomplete: the next call writes it again.
    other.gpt_weights.unlink()
    rebuilt = ensure_demo_bundle(tmp_path)
    assert rebuilt.gpt_weights.is_file()
    assert rebuilt.gpt_weights.read_bytes() == bundle.gpt_weights.read_bytes()


def test_demo_reference_depends_on_the_seed() -> None:
    np.testing.assert_array_equal(synthetic_reference(0), synthetic_reference(0))
    assert not np.array_equal(synthetic_reference(0), synthetic_reference(1))


@pytest.mark.parametrize("version", ["v2Pro", "v2ProPlus"])
def test_pro_demo_bundle_sits_next_to_the_v2_one(bundle: DemoBundle, version: str) -> None:
    stamps = {p: p.stat().st_mtime_ns for p in bundle.files()}
    pro = ensure_demo_bundle(bundle.folder, version=version)
    assert pro.folder == bundle.folder / version
    assert pro.version == version
    assert pro.sv_weights is not None
    assert pro.sv_weights in pro.files()
    assert all(p.is_file() for p in pro.files())
    sovits = load_sovits(pro.sovits_weights)
    assert sovits.version == version
    assert load_eres2net(pro.sv_weights).config.embedding_dim == sovits.config.sv_dim
    # The v2 bundle is untouched, and still the one a plain call returns.
    assert ensure_demo_bundle(bundle.folder) == bundle
    assert {p: p.stat().st_mtime_ns for p in bundle.files()} == stamps
    assert bundle.sv_weights is None


def test_demo_bundle_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no demo bundle for version 'v4'"):
        ensure_demo_bundle(tmp_path, version="v4")
