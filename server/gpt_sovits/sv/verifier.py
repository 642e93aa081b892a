"""Speaker-verification embeddings of reference clips, as the Pro SoVITS models expect them."""

from __future__ import annotations

from pathlib import Path

import torch

from gpt_sovits.sv.checkpoint import load_eres2net
from gpt_sovits.sv.eres2net import ERes2NetV2
from gpt_sovits.sv.fbank import SAMPLE_RATE, kaldi_fbank
from gpt_sovits.sv.resample import sinc_resample


class SpeakerVerifier:
    """ERes2NetV2 behind its front end: 32 kHz reference → 16 kHz → filter bank → embedding.

    The reference arrives at the SoVITS rate and is resampled again to 16 kHz (the trained
    models saw exactly that double conversion). The front end runs in float32; the network in
    the dtype it was moved to.
    """

    def __init__(self, net: ERes2NetV2, path: Path) -> None:
        self.net = net
        self.path = path

    @classmethod
    def load(
        cls, path: Path | str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ) -> SpeakerVerifier:
        """Load the official file (see :func:`gpt_sovits.sv.checkpoint.load_eres2net`) onto ``device``."""
        path = Path(path)
        return cls(load_eres2net(path).to(device=device, dtype=dtype), path)

    @property
    def embedding_dim(self) -> int:
        """Width of one embedding (20480 for the released model)."""
        return self.net.config.embedding_dim

    @property
    def _dtype(self) -> torch.dtype:
        return self.net.conv1.weight.dtype

    @torch.inference_mode()
    def embed(self, wave: torch.Tensor, rate: int) -> torch.Tensor:
        """Embeddings [B, embedding_dim] of waves [B, N] (or [N]) at ``rate`` Hz."""
        if wave.dim() == 1:
            wave = wave.unsqueeze(0)
        device = self.net.conv1.weight.device
        wave16k = sinc_resample(wave.to(device, torch.float32), rate, SAMPLE_RATE)
        embedding: torch.Tensor = self.net(kaldi_fbank(wave16k).to(self._dtype))
        return embedding
