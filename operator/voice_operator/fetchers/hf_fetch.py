"""Fetch files of a Hugging Face Hub repository into a folder.

Usage: ``python hf_fetch.py REPO REVISION DEST FILE...``; the token, if any, comes from the
``HF_TOKEN`` variable, which the Hub client reads itself. Needs ``huggingface_hub`` in the image
(the server installs it with transformers).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    """Command line: REPO REVISION DEST FILE..."""
    if len(argv) < 4:
        raise SystemExit("usage: hf_fetch REPO REVISION DEST FILE...")
    repo, revision, dest, *files = argv
    from huggingface_hub import snapshot_download

    path = snapshot_download(repo_id=repo, revision=revision, allow_patterns=files, local_dir=dest)
    print(f"fetched {len(files)} pattern(s) of {repo}@{revision} into {path}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
