"""Where a model's files are: paths resolved inside the model folder, never outside it."""

from __future__ import annotations

from pathlib import Path

from voice_server.engine.model import ModelSpec
from voice_server.errors import InvalidInputError
from voice_server.settings import ServerSettings


def resolve_in(model_dir: Path | None, value: Path | str, field: str) -> Path:
    """``value`` joined to ``model_dir``; 422 naming ``field`` when it would leave the folder."""
    path = Path(value)
    if model_dir is None:
        return path
    root = model_dir.resolve()
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root):
        raise InvalidInputError(f"{field} must stay inside the model folder {root}", field=field)
    return resolved


def spec_from_settings(settings: ServerSettings) -> ModelSpec | None:
    """The default model the settings name, or None when they name none."""
    if settings.gpt_weights is None or settings.sovits_weights is None:
        return None
    root = settings.model_dir
    return ModelSpec(
        gpt_weights=resolve_in(root, settings.gpt_weights, "gpt_weights"),
        sovits_weights=resolve_in(root, settings.sovits_weights, "sovits_weights"),
        bert_dir=None if settings.bert_dir is None else resolve_in(root, settings.bert_dir, "bert_dir"),
        hubert_dir=None
        if settings.hubert_dir is None
        else resolve_in(root, settings.hubert_dir, "hubert_dir"),
        sv_weights=None
        if settings.sv_weights is None
        else resolve_in(root, settings.sv_weights, "sv_weights"),
    )


def spec_from_request(
    settings: ServerSettings,
    default: ModelSpec | None,
    *,
    gpt_weights: str,
    sovits_weights: str,
    bert_dir: str | None = None,
    hubert_dir: str | None = None,
    sv_weights: str | None = None,
) -> ModelSpec:
    """An admin load request's files; BERT, HuBERT and SV default to the current default model's."""
    root = settings.model_dir

    def optional(value: str | None, fallback: Path | None, field: str) -> Path | None:
        return fallback if value is None else resolve_in(root, value, field)

    return ModelSpec(
        gpt_weights=resolve_in(root, gpt_weights, "gpt_weights"),
        sovits_weights=resolve_in(root, sovits_weights, "sovits_weights"),
        bert_dir=optional(bert_dir, default.bert_dir if default else None, "bert_dir"),
        hubert_dir=optional(hubert_dir, default.hubert_dir if default else None, "hubert_dir"),
        sv_weights=optional(sv_weights, default.sv_weights if default else None, "sv_weights"),
    )
