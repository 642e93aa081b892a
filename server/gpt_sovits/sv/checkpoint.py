"""Read the speaker-verification model file: a plain ``torch.save`` of the ERes2NetV2 state dict.

The official file is loaded strictly into the network; its sizes (channels, split widths, blocks
per stage) are read from the tensors themselves, so reduced test models load the same way. Every
failure is a :class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from gpt_sovits.errors import CheckpointError
from gpt_sovits.sovits.config import HEADER_VERSIONS
from gpt_sovits.sv.eres2net import N_STAGES, ERes2NetConfig, ERes2NetV2

#: The official file name (under the upstream ``pretrained_models/sv/`` folder).
OFFICIAL_SV_FILE = "pretrained_eres2netv2w24s4ep4.ckpt"
_BLOCK_KEY = re.compile(r"^layer(\d)\.(\d+)\.conv1\.weight$")
_SPLIT_KEY = re.compile(r"^layer1\.0\.convs\.(\d+)\.weight$")


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise CheckpointError(f"{path}: speaker-verification model not found")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    with path.open("rb") as handle:
        head = handle.read(2)
    if head in HEADER_VERSIONS:
        raise CheckpointError(
            f"{path}: this is a SoVITS checkpoint ({HEADER_VERSIONS[head]} header), not the "
            "speaker-verification model"
        )
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to load: it holds objects other than tensors ({exc})"
        ) from exc
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: truncated or corrupt speaker-verification model ({exc})") from exc
    if not isinstance(loaded, Mapping):
        raise CheckpointError(
            f"{path}: not a speaker-verification model (top level is {type(loaded).__name__})"
        )
    weight = loaded.get("weight")
    if isinstance(weight, Mapping) and any(str(k).startswith("model.") for k in weight):
        raise CheckpointError(
            f"{path}: this is a GPT (text-to-semantic) checkpoint, not the speaker-verification model"
        )
    if weight is not None and "config" in loaded:
        raise CheckpointError(f"{path}: this is a SoVITS checkpoint, not the speaker-verification model")
    if not all(isinstance(v, torch.Tensor) for v in loaded.values()) or "conv1.weight" not in loaded:
        raise CheckpointError(
            f"{path}: not an ERes2NetV2 speaker-verification state dict (expected tensors such as "
            "conv1.weight)"
        )
    return {str(k): v for k, v in loaded.items()}


def _config_from_shapes(path: Path, weights: Mapping[str, torch.Tensor]) -> ERes2NetConfig:
    """Network sizes implied by the tensors (a strict load then checks every shape)."""
    blocks = [0] * N_STAGES
    for key in weights:
        match = _BLOCK_KEY.match(key)
        if match and 1 <= int(match[1]) <= N_STAGES:
            stage = int(match[1]) - 1
            blocks[stage] = max(blocks[stage], int(match[2]) + 1)
    scale = sum(1 for key in weights if _SPLIT_KEY.match(key))
    required = ("layer1.0.conv3.weight", "seg_1.weight")
    if min(blocks) == 0 or scale < 2 or any(key not in weights for key in required):
        raise CheckpointError(
            f"{path}: not an ERes2NetV2 speaker-verification state dict (stages, splits or seg_1 missing)"
        )
    m_channels = int(weights["conv1.weight"].shape[0])
    return ERes2NetConfig(
        m_channels=m_channels,
        expansion=int(weights["layer1.0.conv3.weight"].shape[0]) // m_channels,
        scale=scale,
        widths=tuple(int(weights[f"layer{s + 1}.0.convs.0.weight"].shape[0]) for s in range(N_STAGES)),
        num_blocks=tuple(blocks),
        embedding_size=int(weights["seg_1.weight"].shape[0]),
    )


def load_eres2net(path: Path | str) -> ERes2NetV2:
    """Load an official ERes2NetV2 file strictly into an eval-mode fp32 network on the CPU."""
    path = Path(path)
    weights = _read_state_dict(path)
    model = ERes2NetV2(_config_from_shapes(path, weights))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        shown = ", ".join((missing or unexpected)[:5])
        raise CheckpointError(
            f"{path}: not the ERes2NetV2 layout: {len(missing)} tensors missing, {len(unexpected)} "
            f"unexpected (e.g. {shown})"
        )
    for key, tensor in expected.items():
        if tuple(weights[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{path}: tensor {key} has shape {tuple(weights[key].shape)}, but the other tensors "
                f"imply {tuple(tensor.shape)}"
            )
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
    model.eval()
    model.requires_grad_(False)
    return model


def save_eres2net(path: Path | str, model: ERes2NetV2) -> None:
    """Write ``model`` as the official file does: ``torch.save`` of its fp32 state dict."""
    torch.save(model.state_dict(), str(path))
