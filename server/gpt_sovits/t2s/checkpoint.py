"""Read and write T2S (GPT) checkpoints in the official ``.ckpt`` format, unchanged.

On disk: a ``torch.save`` zip of ``{"weight": OrderedDict, "config": dict, "info": str}`` where
every weight key carries the ``model.`` prefix and every tensor is float16. Files are read with
``weights_only=True`` (no arbitrary code runs); any problem becomes a ``CheckpointError`` whose
message names the file and says what is wrong with it.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gpt_sovits.errors import CheckpointError
from gpt_sovits.t2s.config import PHONE_VOCAB_BY_VERSION, T2SConfig
from gpt_sovits.t2s.model import Text2SemanticDecoder

KEY_PREFIX = "model."
# First two bytes the official tools write over the zip magic of versioned SoVITS exports.
_SOVITS_HEADERS = {
    b"00": "v1",
    b"01": "v2",
    b"02": "v3",
    b"03": "v3 LoRA",
    b"04": "v4 LoRA",
    b"05": "v2Pro",
    b"06": "v2ProPlus",
}
# Top-level module names of SoVITS weights (unprefixed keys).
_SOVITS_MODULES = ("enc_p.", "dec.", "flow.", "ref_enc.", "quantizer.", "ssl_proj.")


@dataclass(frozen=True)
class T2SCheckpoint:
    """A GPT checkpoint as read from disk: config, weights (prefix stripped, dtype as stored), info."""

    path: Path
    config: T2SConfig
    weights: dict[str, Tensor]
    info: str


def _fail(path: Path, what: str) -> CheckpointError:
    return CheckpointError(f"GPT checkpoint {path}: {what}")


def _load_container(path: Path) -> Any:
    """``torch.load`` the file safely, turning every failure into a precise ``CheckpointError``."""
    if not path.exists():
        raise _fail(path, "file not found")
    if not path.is_file():
        raise _fail(path, "not a regular file")
    with path.open("rb") as fh:
        head = fh.read(2)
    if not head:
        raise _fail(path, "file is empty")
    if head in _SOVITS_HEADERS:
        raise _fail(path, f"this is a SoVITS {_SOVITS_HEADERS[head]} weights file (.pth), not a GPT .ckpt")
    if head == b"PK" and not zipfile.is_zipfile(path):
        raise _fail(path, "truncated or corrupt (the zip archive has no central directory)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    # Any failure of the unpickler on foreign bytes is possible here (IndexError, KeyError, ...).
    except Exception as err:
        if isinstance(err, pickle.UnpicklingError) and "HParams" in str(err):
            raise _fail(
                path, "this is a SoVITS weights file (.pth, config is a utils.HParams), not a GPT .ckpt"
            ) from err
        if head == b"PK":
            raise _fail(path, f"truncated or corrupt ({_first_line(err)})") from err
        raise _fail(path, f"not a torch checkpoint ({_first_line(err)})") from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def read_t2s_checkpoint(path: str | os.PathLike[str], *, expect_version: str | None = "v2") -> T2SCheckpoint:
    """Read and validate a GPT checkpoint: container, config, version, every tensor name and shape."""
    path = Path(path)
    data = _load_container(path)
    if not isinstance(data, dict) or "weight" not in data:
        keys = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise _fail(path, f"not a GPT checkpoint (expected a dict with 'weight' and 'config', got {keys})")
    weight = data["weight"]
    if not isinstance(weight, dict) or not all(isinstance(v, Tensor) for v in weight.values()):
        raise _fail(path, "'weight' is not a mapping of tensors")
    if not any(k.startswith(KEY_PREFIX) for k in weight):
        if any(k.startswith(_SOVITS_MODULES) for k in weight):
            raise _fail(path, "this is a SoVITS weights file (.pth), not a GPT .ckpt")
        raise _fail(path, f"no '{KEY_PREFIX}'-prefixed weights; not a GPT checkpoint")
    if not isinstance(data.get("config"), dict):
        raise _fail(path, "has no 'config' dict")
    try:
        config = T2SConfig.from_checkpoint_config(data["config"])
    except ValueError as err:
        raise _fail(path, str(err)) from err
    version = config.version
    if version is None:
        raise _fail(
            path,
            f"unknown version: phoneme_vocab_size {config.phoneme_vocab_size} "
            f"(known: {', '.join(f'{v}={n}' for v, n in PHONE_VOCAB_BY_VERSION.items())})",
        )
    if expect_version is not None and version != expect_version:
        raise _fail(
            path,
            f"wrong version: a {version} GPT checkpoint (phoneme_vocab_size {config.phoneme_vocab_size}), "
            f"expected {expect_version}",
        )
    weights = {k.removeprefix(KEY_PREFIX): v for k, v in weight.items() if k.startswith(KEY_PREFIX)}
    _check_shapes(path, config, weights)
    return T2SCheckpoint(path=path, config=config, weights=weights, info=str(data.get("info", "")))


def _expected_shapes(config: T2SConfig) -> dict[str, tuple[int, ...]]:
    # Built on the meta device: shapes only, no memory and no random init.
    with torch.device("meta"):
        model = Text2SemanticDecoder(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _check_shapes(path: Path, config: T2SConfig, weights: dict[str, Tensor]) -> None:
    expected = _expected_shapes(config)
    missing = sorted(expected.keys() - weights.keys())
    extra = sorted(weights.keys() - expected.keys())
    if missing:
        raise _fail(path, f"missing {len(missing)} tensor(s), e.g. {KEY_PREFIX}{missing[0]}")
    if extra:
        raise _fail(path, f"{len(extra)} unexpected tensor(s), e.g. {KEY_PREFIX}{extra[0]}")
    for key, shape in expected.items():
        if tuple(weights[key].shape) != shape:
            raise _fail(
                path, f"{KEY_PREFIX}{key} has shape {tuple(weights[key].shape)}, config implies {shape}"
            )


def build_t2s(
    checkpoint: T2SCheckpoint, *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> Text2SemanticDecoder:
    """Instantiate the decoder from a read checkpoint (weights cast to ``dtype``), in eval mode."""
    with torch.device("meta"):
        model = Text2SemanticDecoder(checkpoint.config)
    state = {k: v.to(device=device, dtype=dtype) for k, v in checkpoint.weights.items()}
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval().requires_grad_(False)


def load_t2s(
    path: str | os.PathLike[str],
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    expect_version: str | None = "v2",
) -> Text2SemanticDecoder:
    """Read a GPT ``.ckpt`` and return the ready decoder (the path every caller uses)."""
    return build_t2s(read_t2s_checkpoint(path, expect_version=expect_version), device=device, dtype=dtype)


def write_t2s_checkpoint(
    model: Text2SemanticDecoder, path: str | os.PathLike[str], *, info: str = "GPT-e1"
) -> Path:
    """Save ``model`` in the official on-disk format (fp16, ``model.`` keys, config, info).

    Written to a temporary name first and renamed, so a crash never leaves a half file behind.
    """
    path = Path(path)
    weight: OrderedDict[str, Tensor] = OrderedDict(
        (KEY_PREFIX + k, v.detach().to("cpu", torch.float16).contiguous())
        for k, v in model.state_dict().items()
    )
    data = {"weight": weight, "config": model.config.to_checkpoint_config(), "info": info}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(data, tmp)
    tmp.replace(path)
    return path
