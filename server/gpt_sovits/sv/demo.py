"""Demo speaker-verification weights: a small random ERes2NetV2 in the official file format.

Its embeddings carry no speaker information; they exist so a Pro demo bundle runs end to end.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gpt_sovits.sv.checkpoint import save_eres2net
from gpt_sovits.sv.eres2net import ERes2NetConfig, ERes2NetV2


def demo_sv_config() -> ERes2NetConfig:
    """Reduced sizes (8 channels, expansion 2, one block per stage): 1280-wide embeddings."""
    return ERes2NetConfig(m_channels=8, expansion=2, widths=(3, 6, 12, 24), num_blocks=(1, 1, 1, 1))


def random_eres2net(config: ERes2NetConfig, seed: int = 0) -> ERes2NetV2:
    """An ERes2NetV2 with random weights and BatchNorm statistics (the global RNG is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ERes2NetV2(config)
        for module in model.modules():
            # Trained statistics are not the identity; random ones exercise the normalisation.
            if isinstance(module, nn.BatchNorm2d):
                assert module.running_mean is not None
                assert module.running_var is not None
                nn.init.normal_(module.running_mean, std=0.01)
                nn.init.uniform_(module.running_var, 0.75, 1.25)
    model.eval()
    model.requires_grad_(False)
    return model


def write_random_sv(path: Path | str, config: ERes2NetConfig | None = None, seed: int = 0) -> Path:
    """Write a random speaker-verification model (official format) to ``path`` and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_eres2net(path, random_eres2net(config or demo_sv_config(), seed))
    return path
