"""Which variant `make demo` runs: the real node where it can, the simulated pods otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.cluster import ClusterSettings
from e2e.demo import DemoError, DemoSettings, on_real_node


def test_false_always_simulates() -> None:
    real, why = on_real_node(DemoSettings(real_node=False), ClusterSettings())
    assert real is False
    assert "simulated by kwok" in why


def test_unbuilt_images_fall_back_unless_the_real_node_is_insisted_on(tmp_path: Path) -> None:
    # An empty cache folder: neither image was ever built there.
    cluster = ClusterSettings(cache_dir=tmp_path)
    real, why = on_real_node(DemoSettings(), cluster)
    assert real is False
    assert "simulated by kwok" in why
    with pytest.raises(DemoError, match="--real-node true: "):
        on_real_node(DemoSettings(real_node=True), cluster)
