"""Fetch one file or archive over HTTP(S) into a folder, check its sha256, unpack archives.

Usage: ``python http_fetch.py URL SHA256 DEST``. A marker file named after the digest makes a
second run (a restarted pod on a PVC cache) finish at once without downloading again.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
CHUNK = 1 << 20


def unpack(archive: tarfile.TarFile, dest: Path) -> None:
    """Extract ``archive`` into ``dest``, refusing members that would land outside it."""
    if hasattr(tarfile, "data_filter"):
        # The "data" filter refuses absolute paths, links out of dest and device files.
        archive.extractall(dest, filter="data")
        return
    # Pythons before 3.11.4 (Debian 12 ships 3.11.2) have no filters: allow plain files and
    # folders inside dest only, which is all a model bundle holds.
    root = dest.resolve()
    for member in archive.getmembers():
        target = (root / member.name).resolve()
        inside = target == root or root in target.parents
        if not inside or not (member.isfile() or member.isdir()):
            raise SystemExit(f"refusing archive member {member.name!r}: not a file or folder inside {dest}")
    archive.extractall(dest)


def fetch(url: str, sha256: str, dest: Path) -> str:
    """Download ``url`` into ``dest`` unless already done; returns what happened."""
    marker = dest / f".fetched-{sha256}"
    if marker.exists():
        return "cached"
    dest.mkdir(parents=True, exist_ok=True)
    name = Path(urllib.parse.urlparse(url).path).name or "download"
    part = dest / f".part-{sha256}"
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, part.open("wb") as out:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
    except OSError as err:  # HTTP errors, refused connections, timeouts: one line, not a traceback
        part.unlink(missing_ok=True)
        raise SystemExit(f"cannot download {url}: {err}") from None
    if digest.hexdigest() != sha256:
        part.unlink()
        raise SystemExit(f"sha256 mismatch for {url}: expected {sha256}, got {digest.hexdigest()}")
    if name.endswith(ARCHIVE_SUFFIXES):
        with tarfile.open(part) as archive:
            unpack(archive, dest)
        part.unlink()
    else:
        part.replace(dest / name)
    marker.touch()
    return "fetched"


def main(argv: list[str]) -> None:
    """Command line: URL SHA256 DEST."""
    if len(argv) != 3:
        raise SystemExit("usage: http_fetch URL SHA256 DEST")
    url, sha256, dest = argv
    print(f"{fetch(url, sha256.lower(), Path(dest))}: {url}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
