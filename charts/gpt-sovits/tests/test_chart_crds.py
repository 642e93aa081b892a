"""The chart carries the VoiceService CRD unchanged from crds/, the source of truth."""

from __future__ import annotations

import yaml
from chart_helpers import CHART, REPO


def test_chart_crd_is_identical_to_the_source_of_truth() -> None:
    source = (REPO / "crds" / "voiceservices.yaml").read_bytes()
    copy = (CHART / "crds" / "voiceservices.yaml").read_bytes()
    assert copy == source, (
        "charts/gpt-sovits/crds/voiceservices.yaml differs: cp crds/voiceservices.yaml there"
    )


def test_chart_crds_are_plain_yaml_not_templates() -> None:
    # Helm installs crds/ verbatim: template syntax there would reach the API server as text.
    for path in (CHART / "crds").glob("*.yaml"):
        text = path.read_text()
        assert "{{" not in text, path.name
        for document in yaml.safe_load_all(text):
            assert document["kind"] == "CustomResourceDefinition"
