"""Release-size demo bundles: the official sizes, the official file layout, a folder of their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from gpt_sovits.demo import DemoBundle, ensure_demo_bundle
from gpt_sovits.sovits import load_sovits
from gpt_sovits.sovits.config import SovitsConfig
from gpt_sovits.sv.demo import demo_sv_config
from gpt_sovits.t2s import load_t2s
from gpt_sovits.t2s.demo import DEMO_CONFIG


@pytest.fixture(scope="module")
def schema(conformance_dir: Path) -> dict[str, Any]:
    path = conformance_dir.parent.parent / "gpt-sovits" / "v2_state_dict_schema.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_release_gpt_has_the_official_s1_v2_sizes(tmp_path: Path, schema: dict[str, Any]) -> None:
    config = DemoBundle.at(tmp_path, size="release").gpt_config()
    official = schema["t2s_ckpt"]["config_model_section"]
    assert (config.n_layer, config.hidden_dim, config.head, config.ffn_dim) == (24, 512, 16, 2048)
    for key in ("vocab_size", "phoneme_vocab_size", "embedding_dim", "hidden_dim", "head", "n_layer", "EOS"):
        assert getattr(config, key) == official[key], key
    assert config.linear_units == official["linear_units"]


def test_release_sovits_has_the_released_sizes(tmp_path: Path, schema: dict[str, Any]) -> None:
    config = DemoBundle.at(tmp_path, size="release").sovits_config()
    assert config == SovitsConfig.released("v2")
    official = schema["sovits_pth"]["config"]["model"]
    for key in ("inter_channels", "hidden_channels", "filter_channels", "n_heads", "n_layers"):
        assert getattr(config, key) == official[key], key
    assert config.upsample_initial_channel == official["upsample_initial_channel"]
    assert list(config.upsample_rates) == official["upsample_rates"]
    assert config.gin_channels == official["gin_channels"]


def test_release_pro_sovits_is_released_but_fed_by_the_small_sv_model(tmp_path: Path) -> None:
    config = DemoBundle.at(tmp_path, "v2ProPlus", "release").sovits_config()
    released = SovitsConfig.released("v2ProPlus")
    assert config.upsample_initial_channel == released.upsample_initial_channel == 768
    assert config.gin_channels == released.gin_channels
    assert config.sv_dim == demo_sv_config().embedding_dim


def test_sizes_have_their_own_folders(tmp_path: Path) -> None:
    small, release = DemoBundle.at(tmp_path), DemoBundle.at(tmp_path, size="release")
    assert small.folder == tmp_path
    assert small.gpt_config() == DEMO_CONFIG
    assert release.folder == tmp_path / "release"
    assert DemoBundle.at(tmp_path, "v2Pro", "release").folder == tmp_path / "release" / "v2Pro"
    with pytest.raises(ValueError, match="size"):
        DemoBundle.at(tmp_path, size="huge")  # type: ignore[arg-type]


def test_release_bundle_is_written_in_the_official_layout_once(
    tmp_path: Path, schema: dict[str, Any]
) -> None:
    # About 240 MB and 7 s on two cores: the one test that writes the release sizes.
    bundle = ensure_demo_bundle(tmp_path, size="release")
    assert bundle.folder == tmp_path.resolve() / "release"
    gpt = torch.load(bundle.gpt_weights, weights_only=True)
    assert {k: list(v.shape) for k, v in gpt["weight"].items()} == schema["t2s_ckpt"]["weight"]
    sovits = torch.load(bundle.sovits_weights, weights_only=True)
    assert {k: list(v.shape) for k, v in sovits["weight"].items()} == schema["sovits_pth"]["weight"]
    assert sum(v.numel() for v in sovits["weight"].values()) == schema["sovits_pth"]["n_params"]
    assert load_t2s(bundle.gpt_weights).config == bundle.gpt_config()
    assert load_sovits(bundle.sovits_weights).config == SovitsConfig.released("v2")
    manifest = json.loads((bundle.folder / "demo.json").read_text(encoding="utf-8"))
    assert manifest["size"] == "release"
    # Cached: a second call reuses the files (and leaves the small bundle's folder alone).
    stamp = bundle.gpt_weights.stat().st_mtime_ns
    assert ensure_demo_bundle(tmp_path, size="release") == bundle
    assert bundle.gpt_weights.stat().st_mtime_ns == stamp
    assert not DemoBundle.at(tmp_path.resolve()).gpt_weights.exists()
