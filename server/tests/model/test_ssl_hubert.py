"""HuBERT feature extraction from a local folder, with a tiny random model saved by the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import HubertConfig, HubertModel

from gpt_sovits.errors import AudioError, CheckpointError
from gpt_sovits.ssl import PROMPT_TAIL_SAMPLES, SslFeatureExtractor, prompt_wave


@pytest.fixture(scope="module")
def tiny_hubert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HubertModel]:
    config = HubertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=48,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    torch.manual_seed(0)
    model = HubertModel(config).eval()
    folder = tmp_path_factory.mktemp("hubert")
    model.save_pretrained(folder)
    return folder, model


def test_ssl_features_match_the_model(tiny_hubert: tuple[Path, HubertModel]) -> None:
    folder, reference = tiny_hubert
    extractor = SslFeatureExtractor.from_folder(folder)
    wave = np.random.default_rng(0).uniform(-0.5, 0.5, 16000).astype(np.float32)
    features = extractor(wave)
    # 320-sample hop: 16000 samples → 49 frames of the hidden width.
    assert features.shape == (1, 32, 49)
    with torch.no_grad():
        expected = reference(torch.from_numpy(wave).unsqueeze(0)).last_hidden_state.transpose(1, 2)
    torch.testing.assert_close(features, expected, rtol=1e-5, atol=1e-5)


def test_ssl_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"chinese-hubert-base: HuBERT model folder not found"):
        SslFeatureExtractor.from_folder(tmp_path / "chinese-hubert-base")


def test_ssl_folder_without_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"has no config\.json"):
        SslFeatureExtractor.from_folder(tmp_path)


def test_ssl_folder_without_weights_is_named(tmp_path: Path, tiny_hubert: tuple[Path, HubertModel]) -> None:
    (tmp_path / "config.json").write_text((tiny_hubert[0] / "config.json").read_text())
    with pytest.raises(CheckpointError, match=r"cannot load the HuBERT model"):
        SslFeatureExtractor.from_folder(tmp_path)


def test_ssl_prompt_wave_checks_length_and_appends_silence() -> None:
    wave = np.ones(16000 * 4, dtype=np.float32)
    out = prompt_wave(wave)
    assert out.shape == (16000 * 4 + PROMPT_TAIL_SAMPLES,)
    assert not out[-PROMPT_TAIL_SAMPLES:].any()
    with pytest.raises(AudioError, match=r"3 to 10 seconds, got 2\.00 s"):
        prompt_wave(np.ones(32000, dtype=np.float32))
    with pytest.raises(AudioError, match="3 to 10 seconds"):
        prompt_wave(np.ones(16000 * 11, dtype=np.float32))
