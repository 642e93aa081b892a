"""SoVITS v1/v2/v2Pro/v2ProPlus synthesizer: checkpoint loading, the network, prompt-code extraction."""

from gpt_sovits.sovits.checkpoint import SovitsCheckpoint, load_sovits_checkpoint, save_sovits_checkpoint
from gpt_sovits.sovits.config import SovitsConfig
from gpt_sovits.sovits.model import SovitsSynthesizer, load_sovits

__all__ = [
    "SovitsCheckpoint",
    "SovitsConfig",
    "SovitsSynthesizer",
    "load_sovits",
    "load_sovits_checkpoint",
    "save_sovits_checkpoint",
]
