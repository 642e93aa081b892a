"""The API key requests must present: given in the settings, or read from a file.

A key file is re-read when it changes, so rotating a mounted Secret (Kubernetes updates its files
in place) takes effect without restarting the server.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from voice_server.settings import ServerSettings
from voice_server.watched_file import FileStamp, file_stamp

log = logging.getLogger(__name__)


class ApiKeyError(ValueError):
    """The configured key (or key file) cannot be used."""


def _checked(key: str) -> str:
    key = key.strip()
    if not key:
        raise ApiKeyError("the API key is empty")
    return key


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ApiKeyError(f"api key file {path}: {err.strerror}") from None
    return _checked(text)


class ApiKey:
    """The current key; a key file is re-read when its stamp changes.

    A file that turns unreadable or empty keeps the last good key in force and logs why, as the
    speakers file does; at start-up such a file is an error.
    """

    def __init__(self, key: str, path: Path | None = None, stamp: FileStamp | None = None) -> None:
        self._key = key
        self._path = path
        self._stamp = stamp
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> ApiKey | None:
        """The key the settings name, or None when auth is off; raises :class:`ApiKeyError`."""
        if settings.api_key is not None:
            return cls(_checked(settings.api_key.get_secret_value()))
        if settings.api_key_file is not None:
            path = settings.api_key_file
            stamp = file_stamp(path)  # taken first: a change while reading is seen next time
            return cls(_read(path), path, stamp)
        return None

    def current(self) -> str:
        """The key in force now, after re-reading a key file that changed."""
        path = self._path
        if path is None:
            return self._key
        stamp = file_stamp(path)
        if stamp is None or stamp == self._stamp:
            return self._key
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._key = _read(path)
                except ApiKeyError as err:
                    log.error("api key file rejected, keeping the previous key", extra={"error": str(err)})
                else:
                    log.info("api key reloaded", extra={"path": str(path)})
                self._stamp = stamp
        return self._key
