"""The ConfigMap with the speakers file the server reads (VOICE_SERVER_SPEAKERS_FILE)."""

from __future__ import annotations

from typing import Any

import yaml

from voice_operator import constants as c
from voice_operator.manifests.common import Owner, config_map_name, object_meta
from voice_operator.spec import Speaker, VoiceServiceSpec


def render_speakers(speakers: list[Speaker]) -> str:
    """The speakers as the server's YAML list (camelCase keys, unset names left out)."""
    entries = [speaker.model_dump(by_alias=True, exclude_none=True) for speaker in speakers]
    return yaml.safe_dump(entries, allow_unicode=True, sort_keys=False)


def build_configmap(spec: VoiceServiceSpec, owner: Owner) -> dict[str, Any]:
    """The ConfigMap; always present so the server's file path is stable even with no speakers."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(owner, config_map_name(owner)),
        "data": {c.SPEAKERS_KEY: render_speakers(spec.speakers)},
    }
