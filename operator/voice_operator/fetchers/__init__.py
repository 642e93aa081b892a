"""Scripts run by the weight-fetching init containers (``python -c <script> <args>``).

They are plain files so they can be linted and tested here; the operator ships their text in the
container command, which works with any server image that has Python, without a shell.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent


def script_text(name: str) -> str:
    """The source of fetcher ``name`` (``http_fetch`` or ``hf_fetch``)."""
    return (_HERE / f"{name}.py").read_text(encoding="utf-8")
