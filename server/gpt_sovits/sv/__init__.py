"""Speaker verification for v2Pro/v2ProPlus: ERes2NetV2 embeddings of reference clips."""

from gpt_sovits.sv.checkpoint import OFFICIAL_SV_FILE, load_eres2net, save_eres2net
from gpt_sovits.sv.eres2net import ERes2NetConfig, ERes2NetV2
from gpt_sovits.sv.verifier import SpeakerVerifier

__all__ = [
    "OFFICIAL_SV_FILE",
    "ERes2NetConfig",
    "ERes2NetV2",
    "SpeakerVerifier",
    "load_eres2net",
    "save_eres2net",
]
