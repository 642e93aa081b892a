"""Per-speaker reference features: spectrograms, the speaker vector and the prompt codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from gpt_sovits.audio import linear_spectrogram, read_audio, reference_peak_guard, resample
from gpt_sovits.sovits.model import SovitsSynthesizer
from gpt_sovits.ssl import SSL_SAMPLE_RATE, SslFeatureExtractor, prompt_wave


@dataclass(frozen=True)
class SpeakerReference:
    """What decoding needs from a speaker's reference audio; compute once per speaker and reuse."""

    specs: list[torch.Tensor]
    ge: torch.Tensor | None
    prompt_codes: torch.Tensor | None


def reference_spectrogram(path: Path | str, model: SovitsSynthesizer) -> torch.Tensor:
    """Linear spectrogram [1, bins, frames] of an audio file at the model's rate (peak-guarded)."""
    wave, rate = read_audio(Path(path))
    cfg = model.config
    wave = reference_peak_guard(resample(wave, rate, cfg.sampling_rate))
    spec = linear_spectrogram(torch.from_numpy(wave), cfg.filter_length, cfg.hop_length, cfg.win_length)
    return spec.to(device=model.ssl_proj.weight.device)


def prompt_codes(path: Path | str, model: SovitsSynthesizer, ssl: SslFeatureExtractor) -> torch.Tensor:
    """Prompt semantic ids [T25] (int64) of a 3–10 s reference file: HuBERT → ssl_proj → codebook."""
    wave, rate = read_audio(Path(path))
    features = ssl(prompt_wave(resample(wave, rate, SSL_SAMPLE_RATE)))
    return model.extract_latent(features.to(model.ssl_proj.weight.device))[0, 0]


def build_reference(
    model: SovitsSynthesizer,
    ref_path: Path | str,
    aux_paths: Sequence[Path | str] = (),
    ssl: SslFeatureExtractor | None = None,
) -> SpeakerReference:
    """Spectrograms of the main and auxiliary references, their averaged ``ge``, and prompt codes.

    Prompt codes come from the main reference only and need ``ssl``; without it they are None
    (the reference-free mode, where the GPT runs without a prompt).
    """
    specs = [reference_spectrogram(p, model) for p in (ref_path, *aux_paths)]
    codes = prompt_codes(ref_path, model, ssl) if ssl is not None else None
    return SpeakerReference(specs=specs, ge=model.speaker_embedding(specs), prompt_codes=codes)
