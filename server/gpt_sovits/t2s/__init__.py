"""The GPT half of GPT-SoVITS: text (phones + BERT features) to semantic ids.

``checkpoint`` loads and writes the official ``.ckpt`` files, ``model`` holds the decoder,
``decode`` runs the autoregressive loop (single and batched) with ``sampling``'s sampler.
"""

from __future__ import annotations

from gpt_sovits.t2s.checkpoint import load_t2s, read_t2s_checkpoint, write_t2s_checkpoint
from gpt_sovits.t2s.config import T2SConfig
from gpt_sovits.t2s.decode import DecodeRequest, DecodeResult, SamplingParams, decode_batch
from gpt_sovits.t2s.model import Text2SemanticDecoder

__all__ = [
    "DecodeRequest",
    "DecodeResult",
    "SamplingParams",
    "T2SConfig",
    "Text2SemanticDecoder",
    "decode_batch",
    "load_t2s",
    "read_t2s_checkpoint",
    "write_t2s_checkpoint",
]
