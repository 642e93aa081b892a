"""Fetch files of a Hugging Face Hub repository into a folder and check their sha256.

Usage: ``python hf_fetch.py REPO REVISION DEST SHA256_JSON FILE...``. ``SHA256_JSON`` maps paths in
the repository to their expected lowercase hex digests (``{}`` for none); each listed file must be
among those fetched and match, else the file is removed and the run fails. The token, if any,
comes from the ``HF_TOKEN`` variable, which the Hub client reads itself. Needs ``huggingface_hub``
in the image (the server installs it with transformers). Self-contained: the container runs it as
``python -c`` text, without this package.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for chunk in iter(lambda: data.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(dest: Path, expected: dict[str, str]) -> None:
    """Fail (and remove the file) unless every listed file is in ``dest`` with its digest."""
    for name, digest in sorted(expected.items()):
        path = dest / name
        if not path.is_file():
            raise SystemExit(f"sha256 lists {name}, which was not fetched")
        actual = file_sha256(path)
        if actual != digest.lower():
            path.unlink()
            raise SystemExit(f"sha256 mismatch for {name}: expected {digest}, got {actual}")


def main(argv: list[str]) -> None:
    """Command line: REPO REVISION DEST SHA256_JSON FILE..."""
    if len(argv) < 5:
        raise SystemExit("usage: hf_fetch REPO REVISION DEST SHA256_JSON FILE...")
    repo, revision, dest, checksums, *files = argv
    expected = json.loads(checksums)
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(repo_id=repo, revision=revision, allow_patterns=files, local_dir=dest)
    except OSError as err:  # the Hub's HTTP errors, refused connections: one line, not a traceback
        raise SystemExit(f"cannot fetch {repo}@{revision}: {err}") from None
    verify(Path(dest), expected)
    print(
        f"fetched {len(files)} pattern(s) of {repo}@{revision} into {path}, {len(expected)} checked",
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
