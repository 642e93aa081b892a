"""Small randomly initialised GPT checkpoints in the official format (non-speech demo weights).

Such weights let the whole pipeline run without downloading a trained model; the semantic ids
they produce are meaningless, so the audio they lead to is noise-like, never speech.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from gpt_sovits.t2s.checkpoint import write_t2s_checkpoint
from gpt_sovits.t2s.config import T2SConfig
from gpt_sovits.t2s.model import Text2SemanticDecoder

DEMO_INFO = "DEMO random weights (non-speech, not a trained model)"
# Small enough to decode fast on one CPU core, with the v2 vocabularies.
DEMO_CONFIG = T2SConfig(embedding_dim=128, hidden_dim=128, head=4, n_layer=4, linear_units=512)


@torch.no_grad()
def randomize_(model: Text2SemanticDecoder, seed: int = 0) -> Text2SemanticDecoder:
    """Fill every parameter from a seeded generator, deterministically and independently of global RNG.

    Norm gains, biases and position ``alpha`` are drawn away from their neutral values (1 / 0)
    so that a dropped or swapped tensor changes the output.
    """
    gen = torch.Generator().manual_seed(seed)
    for name, param in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "alpha":
            values = 0.5 + torch.rand(param.shape, generator=gen)
        elif name.split(".")[-2].startswith("norm") and leaf == "weight":
            values = 1.0 + 0.1 * torch.randn(param.shape, generator=gen)
        elif param.dim() == 1:
            values = 0.02 * torch.randn(param.shape, generator=gen)
        else:
            # Scaled to the fan-in so activations stay O(1) through deep stacks.
            values = torch.randn(param.shape, generator=gen) / param.shape[-1] ** 0.5
        param.copy_(values.to(param.dtype))
    return model


def random_t2s(config: T2SConfig = DEMO_CONFIG, seed: int = 0) -> Text2SemanticDecoder:
    """A randomly initialised decoder of ``config``'s sizes, in eval mode."""
    return randomize_(Text2SemanticDecoder(config), seed).eval().requires_grad_(False)


def write_demo_t2s(path: str | os.PathLike[str], config: T2SConfig = DEMO_CONFIG, seed: int = 0) -> Path:
    """Write a random GPT checkpoint in the official on-disk format, labelled as demo weights."""
    return write_t2s_checkpoint(random_t2s(config, seed), path, info=DEMO_INFO)
