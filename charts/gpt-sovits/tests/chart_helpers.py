"""Helpers shared by the chart tests: the chart's location, running helm, picking manifests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHART = Path(__file__).resolve().parents[1]
REPO = CHART.parents[1]

# helm built from source defaults to an old Kubernetes version; render for the one we test against.
KUBE_VERSION = "v1.36.3"

Render = Callable[..., list[dict[str, Any]]]


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run helm without raising; callers assert on the result."""
    return subprocess.run([helm, *args], capture_output=True, text=True, timeout=120, check=False)


def find(manifests: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    """Manifests of ``kind`` (and ``name``)."""
    return [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
