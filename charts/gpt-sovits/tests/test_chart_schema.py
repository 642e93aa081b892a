"""values.schema.json refuses bad values with a message naming the value."""

from __future__ import annotations

import pytest
from chart_helpers import CHART, KUBE_VERSION, run_helm


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("operator.logLevel=LOUD", "logLevel"),
        ("operator.replicas=-1", "replicas"),
        ("operator.livenessPort=70000", "livenessPort"),
        ("operator.watchNamespaces[0]=Not_Valid", "watchNamespaces"),
        ("operator.image.digest=md5:abc", "digest"),
        ("serviceMonitor.interval=soon", "interval"),
        ("prometheusRule.enabled=sometimes", "enabled"),
        ("surprise=1", "surprise"),
    ],
)
def test_bad_value_is_refused_naming_it(helm: str, setting: str, message: str) -> None:
    result = run_helm(helm, "template", "gsv", str(CHART), "--kube-version", KUBE_VERSION, "--set", setting)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


def test_voice_service_without_name_is_refused(helm: str) -> None:
    result = run_helm(
        helm,
        "template",
        "gsv",
        str(CHART),
        "--kube-version",
        KUBE_VERSION,
        "--set",
        "voiceServices[0].spec.model.version=v2",
    )
    assert result.returncode != 0
    assert "name" in result.stderr
