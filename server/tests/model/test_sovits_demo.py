"""Demo SoVITS weights: written in the official format, labelled, loadable and deterministic."""

from __future__ import annotations

from pathlib import Path

import torch

from gpt_sovits.sovits import load_sovits, load_sovits_checkpoint
from gpt_sovits.sovits.demo import DEMO_INFO, demo_config, write_random_sovits


def test_sovits_demo_checkpoint_is_labelled_and_loads(tmp_path: Path) -> None:
    path = write_random_sovits(tmp_path / "demo" / "sovits.pth")
    assert load_sovits_checkpoint(path).info == DEMO_INFO
    assert "non-speech" in DEMO_INFO
    model = load_sovits(path)
    assert model.config == demo_config()
    wav = model.decode(
        torch.randint(0, 1024, (1, 1, 10)),
        torch.randint(0, 732, (1, 7)),
        [torch.rand(1, 1025, 30)],
        noise_scale=0.5,
        generator=torch.Generator().manual_seed(1),
    )
    assert wav.shape == (1, 1, 20 * 640)
    assert torch.isfinite(wav).all()
    assert wav.abs().max() > 0


def test_sovits_demo_is_deterministic_per_seed(tmp_path: Path) -> None:
    rng_before = torch.random.get_rng_state()
    a = load_sovits_checkpoint(write_random_sovits(tmp_path / "a.pth", seed=5)).weights
    b = load_sovits_checkpoint(write_random_sovits(tmp_path / "b.pth", seed=5)).weights
    c = load_sovits_checkpoint(write_random_sovits(tmp_path / "c.pth", seed=6)).weights
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["dec.conv_pre.weight"], c["dec.conv_pre.weight"])
