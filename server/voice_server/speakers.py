"""Speakers from a YAML file (the ConfigMap the operator renders), reloadable without restart."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voice_server.watched_file import FileStamp, file_stamp

log = logging.getLogger(__name__)


class Speaker(BaseModel):
    """One voice: a reference clip with its transcript, bound to one model."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=253)
    name: str | None = None
    ref_audio: Path = Field(alias="refAudio")
    prompt_text: str = Field("", alias="promptText")
    prompt_language: str = Field("zh", alias="promptLanguage")
    model: str = Field("default", description="Name of the loaded model this voice uses.")


class SpeakersFileError(ValueError):
    """The speakers file cannot be read or does not describe speakers."""


def parse_speakers(text: str, base_dir: Path | None = None) -> dict[str, Speaker]:
    """Parse a YAML list (or ``{speakers: [...]}``) into speakers by id; relative paths join ``base_dir``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SpeakersFileError(f"not valid YAML: {err}") from None
    if isinstance(data, dict):
        data = data.get("speakers")
    if data is None:
        return {}
    if not isinstance(data, list):
        raise SpeakersFileError("expected a list of speakers")
    speakers: dict[str, Speaker] = {}
    for index, raw in enumerate(data):
        try:
            speaker = Speaker.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SpeakersFileError(f"speaker #{index}: {where}: {first['msg']}") from None
        if speaker.id in speakers:
            raise SpeakersFileError(f"speaker id {speaker.id!r} appears twice")
        if base_dir is not None and not speaker.ref_audio.is_absolute():
            speaker = speaker.model_copy(update={"ref_audio": base_dir / speaker.ref_audio})
        speakers[speaker.id] = speaker
    return speakers


class SpeakerRegistry:
    """The current speakers; re-reads the file when its modification time changes.

    A file that turns bad keeps the last good speakers in service and logs why.
    """

    def __init__(self, path: Path | None, base_dir: Path | None = None) -> None:
        self.path = path
        self.base_dir = base_dir
        self._speakers: dict[str, Speaker] = {}
        self._stamp: FileStamp | None = None
        self._lock = threading.Lock()
        if path is not None:
            self._speakers = parse_speakers(path.read_text(encoding="utf-8"), base_dir)
            self._stamp = self._file_stamp()

    def _file_stamp(self) -> FileStamp | None:
        return None if self.path is None else file_stamp(self.path)

    def reload_if_changed(self) -> bool:
        """Re-read the file if it changed; True when new speakers took effect."""
        stamp = self._file_stamp()
        if self.path is None or stamp is None or stamp == self._stamp:
            return False
        with self._lock:
            try:
                speakers = parse_speakers(self.path.read_text(encoding="utf-8"), self.base_dir)
            except (OSError, SpeakersFileError) as err:
                log.error("speakers file rejected, keeping the previous speakers", extra={"error": str(err)})
                self._stamp = stamp
                return False
            self._speakers, self._stamp = speakers, stamp
        log.info("speakers reloaded", extra={"count": len(speakers)})
        return True

    def use_file(self, path: Path, base_dir: Path | None = None) -> None:
        """Switch to another speakers file (read now; a bad file raises :class:`SpeakersFileError`)."""
        speakers = parse_speakers(path.read_text(encoding="utf-8"), base_dir)
        with self._lock:
            self.path, self.base_dir = path, base_dir
            self._speakers = speakers
            self._stamp = self._file_stamp()

    def add(self, speaker: Speaker) -> None:
        """Register a speaker in memory (e.g. demo voices)."""
        with self._lock:
            self._speakers = {**self._speakers, speaker.id: speaker}

    def get(self, speaker_id: str) -> Speaker | None:
        """The speaker with this id, or None."""
        return self._speakers.get(speaker_id)

    def by_name(self, name: str) -> Speaker | None:
        """The first speaker whose name (or id) equals ``name``."""
        for speaker in self._speakers.values():
            if name in (speaker.name, speaker.id):
                return speaker
        return None

    def all(self) -> list[Speaker]:
        """Every speaker, ordered by id."""
        return sorted(self._speakers.values(), key=lambda s: s.id)
