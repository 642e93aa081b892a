"""Demo SoVITS weights: small, randomly initialised, written in the official on-disk format.

The resulting model produces NON-SPEECH audio (noise shaped by random weights). It exists so the
server and the tests run without downloading real weights.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from gpt_sovits.sovits.checkpoint import save_sovits_checkpoint
from gpt_sovits.sovits.config import SV_EMBEDDING_DIM, SovitsConfig
from gpt_sovits.sovits.model import SovitsSynthesizer, export_state_dict
from gpt_sovits.sovits.modules.attention import MultiHeadAttention
from gpt_sovits.sovits.modules.quantizer import ResidualVectorQuantizer

DEMO_INFO = "demo-random-weights (non-speech audio)"


def demo_config(version: str = "v2", sv_dim: int = SV_EMBEDDING_DIM) -> SovitsConfig:
    """Reduced sizes of ``version``: its released layout with narrow latent, filters and generator.

    Pro versions also get a narrow speaker vector and take ``sv_dim``-wide speaker-verification
    embeddings (the width of the demo SV model); v2ProPlus keeps its wider generator and first kernel.
    """
    released = SovitsConfig.released(version)
    small = replace(released, inter_channels=64, filter_channels=96, n_layers=2, upsample_initial_channel=64)
    if not released.is_pro:
        return small
    widen = released.upsample_initial_channel / SovitsConfig().upsample_initial_channel
    return replace(small, gin_channels=64, upsample_initial_channel=round(64 * widen), sv_dim=sv_dim)


def random_sovits(config: SovitsConfig, seed: int = 0) -> SovitsSynthesizer:
    """A SoVITS network with random weights drawn from ``seed`` (the global RNG is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SovitsSynthesizer(config)
        for module in model.modules():
            # Tables that start at zero would make whole paths inert; give them values.
            if isinstance(module, MultiHeadAttention) and module.window is not None:
                std = 1.0 / math.sqrt(module.head_dim)
                nn.init.normal_(module.emb_rel_k, std=std)
                nn.init.normal_(module.emb_rel_v, std=std)
            if isinstance(module, ResidualVectorQuantizer):
                for book in module.codebooks():
                    nn.init.normal_(book.embed)
    model.eval()
    model.requires_grad_(False)
    return model


def write_random_sovits(
    path: Path | str, config: SovitsConfig | None = None, seed: int = 0, info: str = DEMO_INFO
) -> Path:
    """Write a random SoVITS checkpoint (official format, fp16) to ``path`` and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = random_sovits(config or demo_config(), seed)
    save_sovits_checkpoint(path, export_state_dict(model), model.config, info)
    return path
