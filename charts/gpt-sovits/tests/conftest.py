"""Fixtures of the chart tests: the pinned helm (built with the local control plane's tools)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import CHART, KUBE_VERSION, Render, run_helm

from e2e.cluster import ClusterSettings
from e2e.cluster.build import ensure_built


@pytest.fixture(scope="session")
def helm() -> str:
    """Path of the pinned helm binary (built from Go modules on first use, then cached)."""
    return str(ensure_built(ClusterSettings()).binary("helm"))


@pytest.fixture(scope="session")
def render(helm: str) -> Render:
    """Render the chart to a list of manifests: render(values_file=None, set_values=[...], namespace=...)."""

    def _render(
        values_file: Path | None = None, set_values: Sequence[str] = (), namespace: str = "voice-system"
    ) -> list[dict[str, Any]]:
        args = ["template", "gsv", str(CHART), "--namespace", namespace, "--kube-version", KUBE_VERSION]
        if values_file is not None:
            args += ["-f", str(values_file)]
        for item in set_values:
            args += ["--set", item]
        result = run_helm(helm, *args)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return _render
