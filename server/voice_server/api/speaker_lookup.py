"""Which speaker a request names: by id, by name, or (api_v2) by a reference path."""

from __future__ import annotations

from pathlib import Path

from voice_server.errors import InvalidInputError, NotFoundError
from voice_server.speakers import Speaker, SpeakerRegistry


def resolve_speaker(
    speakers: SpeakerRegistry, speaker_id: str | None, name: str | None, field: str
) -> Speaker:
    """The speaker a request names by id or by name; 404 when unknown."""
    speakers.reload_if_changed()
    if speaker_id:
        found = speakers.get(speaker_id)
    elif name:
        found = speakers.by_name(name)
    else:
        raise InvalidInputError("name a speaker (speaker_id or speaker)", field=field)
    if found is None:
        raise NotFoundError(f"unknown speaker {speaker_id or name!r}; see GET /api/v1/speakers", field=field)
    return found


def compat_speaker(
    speakers: SpeakerRegistry,
    ref_audio_path: str,
    prompt_text: str,
    prompt_language: str,
    model_dir: Path | None,
) -> Speaker:
    """api_v2 names the reference by server path: accept a speaker id, a speaker's refAudio, or a
    file inside the model folder (never elsewhere on the server)."""
    speakers.reload_if_changed()
    known = speakers.get(ref_audio_path) or next(
        (s for s in speakers.all() if ref_audio_path in (str(s.ref_audio), s.ref_audio.name)), None
    )
    if known is not None:
        return known
    if model_dir is not None:
        root = model_dir.resolve()
        candidate = (root / ref_audio_path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return Speaker(
                id=f"path:{candidate.relative_to(root)}",
                ref_audio=candidate,
                prompt_text=prompt_text,
                prompt_language=prompt_language,
            )
    raise NotFoundError(
        f"ref_audio_path {ref_audio_path!r} is neither a speaker nor a file in the model folder",
        field="ref_audio_path",
    )
