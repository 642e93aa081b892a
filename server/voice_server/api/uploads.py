"""Reading an uploaded file part within a byte bound (the checks of the clip itself are not HTTP's)."""

from __future__ import annotations

from fastapi import UploadFile

from voice_server.errors import PayloadTooLargeError
from voice_server.uploads import FIELD

_READ_CHUNK = 256 * 1024


async def read_bounded(upload: UploadFile, max_bytes: int) -> bytes:
    """The upload's bytes; 413 naming the field as soon as they exceed ``max_bytes``."""
    data = bytearray()
    while chunk := await upload.read(_READ_CHUNK):
        data.extend(chunk)
        if len(data) > max_bytes:
            raise PayloadTooLargeError(f"the reference clip exceeds {max_bytes} bytes", field=FIELD)
    return bytes(data)
