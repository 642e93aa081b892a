"""Read and write SoVITS ``.pth`` files in the official on-disk format.

The official exports are ``torch.save`` zip archives of ``{"weight", "config", "info"}`` with fp16
tensors and no ``enc_q.*`` (training-only) keys. Files exported by the training tools pickle their
config as a ``utils.HParams`` object; we unpickle it with torch's weights-only unpickler, allowing that
one extra class mapped onto a passive stand-in, so loading never runs code from the file.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gpt_sovits.errors import CheckpointError
from gpt_sovits.sovits.config import (
    HEADER_VERSIONS,
    PRO_VERSIONS,
    SUPPORTED_VERSIONS,
    SV_EMBEDDING_DIM,
    VERSION_HEADERS,
    SovitsConfig,
    symbols_version,
    version_from_file_head,
)

# Keys of the posterior encoder, used only in training; exports drop them, base models keep them.
_TRAINING_ONLY_PREFIX = "enc_q."
_TEXT_EMBEDDING_KEY = "enc_p.text_embedding.weight"
# Present only in v2Pro/v2ProPlus files: the projection of the speaker-verification embedding.
_SV_PROJECTION_KEY = "sv_emb.weight"
_SUPPORTED_LIST = ", ".join(sorted(SUPPORTED_VERSIONS))


class HParamsStandIn:
    """Passive replacement for the training tools' ``utils.HParams``: attributes only, no behaviour."""


def _plain(value: Any) -> Any:
    """Turn nested :class:`HParamsStandIn` objects into plain dicts."""
    if isinstance(value, HParamsStandIn):
        return {k: _plain(v) for k, v in vars(value).items()}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class SovitsCheckpoint:
    """A loaded SoVITS file: typed config, fp32 tensors under their on-disk names, and its info line."""

    path: Path
    config: SovitsConfig
    weights: dict[str, torch.Tensor]
    info: str


def _read_archive(path: Path) -> tuple[dict[str, Any], str]:
    """Unpickle the file (restricted) and return the dict plus the file-level version guess."""
    if not path.exists():
        raise CheckpointError(f"{path}: SoVITS checkpoint not found")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    size = path.stat().st_size
    if size < 4:
        raise CheckpointError(f"{path}: file is empty or truncated ({size} bytes)")
    # The version is decided from the head and the size, before reading the (large) rest.
    with path.open("rb") as handle:
        head = handle.read(8192)
    version = version_from_file_head(head, size)
    if version not in SUPPORTED_VERSIONS:
        raise CheckpointError(
            f"{path}: this is a SoVITS {version} checkpoint; supported versions are {_SUPPORTED_LIST}"
        )
    source: Path | io.BytesIO = path
    if head[:2] != b"PK":
        if head[:2] not in HEADER_VERSIONS:
            raise CheckpointError(f"{path}: not a checkpoint (no torch zip archive header)")
        # Version-marked exports overwrite the zip magic; restore it before reading.
        source = io.BytesIO(b"PK" + path.read_bytes()[2:])
    try:
        with torch.serialization.safe_globals([(HParamsStandIn, "utils.HParams")]):
            loaded = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to load: it holds objects other than tensors and configs ({exc})"
        ) from exc
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint archive ({exc})") from exc
    if not isinstance(loaded, dict):
        raise CheckpointError(f"{path}: not a SoVITS checkpoint (top level is {type(loaded).__name__})")
    return loaded, version


def _validated_weights(path: Path, loaded: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The ``weight`` dict converted to fp32, training-only keys dropped."""
    weight = loaded.get("weight")
    if not isinstance(weight, Mapping) or "config" not in loaded:
        raise CheckpointError(
            f"{path}: not a SoVITS checkpoint (expected 'weight' and 'config' entries, found "
            f"{sorted(map(str, loaded))})"
        )
    if any(str(k).startswith("model.") for k in weight):
        raise CheckpointError(f"{path}: this is a GPT (text-to-semantic) checkpoint, not a SoVITS one")
    out: dict[str, torch.Tensor] = {}
    for key, tensor in weight.items():
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{path}: weight {key!r} is not a tensor")
        if str(key).startswith(_TRAINING_ONLY_PREFIX):
            continue
        # Files store fp16; compute in fp32 from the fp16-rounded values, as the official CPU path does.
        out[str(key)] = tensor.float() if tensor.is_floating_point() else tensor
    return out


def _model_version(
    path: Path, file_version: str, weights: Mapping[str, torch.Tensor], model: Mapping[str, Any]
) -> str:
    """The model version: the file-level one, the symbol table for v1/v2, Pro tensors cross-checked.

    Exports mark Pro files in their header; a Pro file re-saved without the marker still carries
    the ``sv_emb`` tensors and its config names the version, which then decides.
    """
    has_sv = _SV_PROJECTION_KEY in weights
    if file_version in PRO_VERSIONS:
        if not has_sv:
            raise CheckpointError(
                f"{path}: the header marks a SoVITS {file_version} checkpoint, but it lacks the "
                f"{_SV_PROJECTION_KEY} tensor every {file_version} model has"
            )
        return file_version
    if has_sv:
        named = str(model.get("version", ""))
        if named not in PRO_VERSIONS:
            raise CheckpointError(
                f"{path}: the file carries v2Pro speaker-verification tensors, but neither its header "
                f"nor its config (version {named!r}) names v2Pro or v2ProPlus"
            )
        return named
    embedding = weights[_TEXT_EMBEDDING_KEY]
    # As the official loader does: the symbol table (v1 or v2) follows the embedding's row count.
    return symbols_version(int(embedding.shape[0]))


def load_sovits_checkpoint(path: Path | str) -> SovitsCheckpoint:
    """Load an official SoVITS v1/v2/v2Pro/v2ProPlus ``.pth`` (fp16 on disk) into fp32 tensors and a config.

    Raises :class:`CheckpointError` naming the file for a missing, truncated, foreign-version or
    non-checkpoint file.
    """
    path = Path(path)
    loaded, file_version = _read_archive(path)
    weights = _validated_weights(path, loaded)
    config = _plain(loaded["config"])
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{path}: checkpoint config has no 'model' section")
    if _TEXT_EMBEDDING_KEY not in weights:
        raise CheckpointError(f"{path}: SoVITS checkpoint lacks {_TEXT_EMBEDDING_KEY} (a v3/v4 model?)")
    version = _model_version(path, file_version, weights, config["model"])
    if str(config["model"].get("resblock", "1")) != "1":
        raise CheckpointError(f"{path}: only resblock type '1' generators are supported")
    data = config.get("data")
    sv_projection = weights.get(_SV_PROJECTION_KEY)
    sv_dim = SV_EMBEDDING_DIM if sv_projection is None else int(sv_projection.shape[-1])
    sovits_config = SovitsConfig.from_sections(
        config["model"], data if isinstance(data, dict) else {}, version, sv_dim
    )
    info = loaded.get("info", "")
    return SovitsCheckpoint(path=path, config=sovits_config, weights=weights, info=str(info))


def save_sovits_checkpoint(
    path: Path | str, weights: Mapping[str, torch.Tensor], config: SovitsConfig, info: str
) -> None:
    """Write on-disk-named ``weights`` as an official SoVITS file: fp16 tensors, plain-dict config.

    ``weights`` must already use the file's key names (``weight_g``/``weight_v`` for weight-normed
    convolutions); :func:`gpt_sovits.sovits.model.export_state_dict` produces them from a model.
    Pro versions get their two-byte version header over the zip magic, as the official export writes.
    """
    payload = {
        "weight": {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in weights.items()},
        "config": config.to_sections(),
        "info": info,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    header = VERSION_HEADERS.get(config.version)
    if header is not None:
        data = header + data[2:]
    Path(path).write_bytes(data)
