"""Ad-hoc voices: a reference clip uploaded with the request, checked before any model work.

The clip is bounded by size and duration, decoded with libsndfile (so a renamed text file or a
truncated clip is refused with 422 naming the field), and written to a private temporary folder
that is removed when the response is done.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from gpt_sovits.ssl import PROMPT_MAX_SAMPLES, PROMPT_MIN_SAMPLES, SSL_SAMPLE_RATE
from voice_server.errors import InvalidInputError

FIELD = "ref_audio"
MIN_SECONDS = PROMPT_MIN_SAMPLES / SSL_SAMPLE_RATE
MAX_SECONDS = PROMPT_MAX_SAMPLES / SSL_SAMPLE_RATE


@dataclass(frozen=True)
class StoredClip:
    """An accepted clip on disk; call :meth:`remove` when the request is finished."""

    path: Path
    seconds: float
    sample_rate: int

    def remove(self) -> None:
        """Delete the clip and its folder."""
        shutil.rmtree(self.path.parent, ignore_errors=True)


def check_clip(data: bytes) -> tuple[float, int, str]:
    """Decode the clip's header and length: (seconds, rate, container); 422 when unusable."""
    if not data:
        raise InvalidInputError("the reference clip is empty", field=FIELD)
    try:
        info = sf.info(io.BytesIO(data))
        frames = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)[0].shape[0]
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        # libsndfile's own words, without the repr of our in-memory buffer.
        reason = getattr(err, "error_string", None) or type(err).__name__
        raise InvalidInputError(
            f"the reference clip is not decodable audio ({reason})", field=FIELD
        ) from None
    seconds = frames / info.samplerate
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise InvalidInputError(
            f"the reference clip must last {MIN_SECONDS:g} to {MAX_SECONDS:g} seconds, got {seconds:.2f} s",
            field=FIELD,
        )
    return seconds, int(info.samplerate), str(info.format)


def store_clip(data: bytes) -> StoredClip:
    """Check ``data`` and write it to a fresh private folder."""
    seconds, rate, container = check_clip(data)
    folder = Path(tempfile.mkdtemp(prefix="gsv-upload-"))
    path = folder / f"reference.{container.lower()}"
    path.write_bytes(data)
    return StoredClip(path, seconds, rate)
