"""Print an image's dependency list from pyproject.toml: ``python docker/requirements.py server``.

The images install their dependencies from ``docker/requirements-<extra>.txt`` in a layer of its
own, so that the layer (torch and its CUDA libraries: several GB) is rebuilt only when the list
changes, not on every edit of pyproject.toml. docker/tests checks the files against this output.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def requirements(extra: str) -> str:
    """The shared dependencies plus ``extra``'s, one per line, as the file holds them."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"][extra]]
    header = f"# Generated from pyproject.toml by `python docker/requirements.py {extra}`; do not edit.\n"
    return header + "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python docker/requirements.py server|operator")
    sys.stdout.write(requirements(sys.argv[1]))
