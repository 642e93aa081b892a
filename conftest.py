"""Fixtures every test folder may use."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def console_script() -> Callable[[str], str]:
    """Path of an installed console script of this project (beside the running interpreter)."""

    def find(name: str) -> str:
        path = Path(sys.executable).parent / name
        if not path.exists():
            raise FileNotFoundError(f"{name} is not installed in {path.parent}; run `make venv`")
        return str(path)

    return find


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
