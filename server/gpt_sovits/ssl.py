"""Self-supervised speech features (Chinese HuBERT) from a local Hugging Face folder, offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gpt_sovits.errors import AudioError, CheckpointError

SSL_SAMPLE_RATE = 16000
# Prompt references must last 3–10 s at 16 kHz.
PROMPT_MIN_SAMPLES = 3 * SSL_SAMPLE_RATE
PROMPT_MAX_SAMPLES = 10 * SSL_SAMPLE_RATE
# Silence appended to the prompt before feature extraction: 0.3 s counted at 32 kHz (so 0.6 s here),
# as the trained models saw it.
PROMPT_TAIL_SAMPLES = int(32000 * 0.3)


def prompt_wave(wave16k: np.ndarray) -> np.ndarray:
    """Check a 16 kHz prompt's length (3–10 s) and append the silent tail; raises :class:`AudioError`."""
    n = int(wave16k.shape[-1])
    if not PROMPT_MIN_SAMPLES <= n <= PROMPT_MAX_SAMPLES:
        raise AudioError(f"reference audio must last 3 to 10 seconds, got {n / SSL_SAMPLE_RATE:.2f} s")
    tail = np.zeros(PROMPT_TAIL_SAMPLES, dtype=np.float32)
    return np.concatenate([wave16k.astype(np.float32), tail])


class SslFeatureExtractor:
    """Runs a HuBERT model on raw 16 kHz waves and returns ``last_hidden_state`` as ``[B, C, T]``."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model.eval().requires_grad_(False)

    @classmethod
    def from_folder(
        cls, folder: Path | str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ) -> SslFeatureExtractor:
        """Load a HuBERT model from a local folder (``config.json`` + weights); never downloads.

        Raises :class:`CheckpointError` naming the folder when it is missing or unusable.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise CheckpointError(f"{folder}: HuBERT model folder not found")
        if not (folder / "config.json").is_file():
            raise CheckpointError(f"{folder}: HuBERT model folder has no config.json")
        # Imported here: transformers is heavy and only this loader needs it.
        from transformers import HubertModel

        try:
            model = HubertModel.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{folder}: cannot load the HuBERT model ({exc})") from exc
        module: torch.nn.Module = model
        return cls(module.to(device=device, dtype=dtype))

    @property
    def _param(self) -> torch.Tensor:
        return next(self.model.parameters())

    def __call__(self, wave16k: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Raw float wave ``[N]`` or ``[B, N]`` at 16 kHz → features ``[B, hidden, frames]`` (50 Hz)."""
        wave = torch.as_tensor(wave16k)
        if wave.dim() == 1:
            wave = wave.unsqueeze(0)
        param = self._param
        with torch.inference_mode():
            hidden = self.model(wave.to(device=param.device, dtype=param.dtype)).last_hidden_state
        features: torch.Tensor = hidden.transpose(1, 2)
        return features


def write_random_hubert(folder: Path | str, hidden_size: int = 768, seed: int = 0) -> Path:
    """Save a small randomly initialised HuBERT (one layer) to ``folder``, for demos and tests.

    Its features are meaningless (random weights); ``hidden_size`` must match the SoVITS
    model's ``ssl_dim`` (768) for prompt extraction to run.
    """
    from transformers import HubertConfig, HubertModel

    config = HubertConfig(
        hidden_size=hidden_size,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=256,
        conv_dim=(32,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=16,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = HubertModel(config)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    return folder
