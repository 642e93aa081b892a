"""The CRD file: names, subresources, printer columns, and agreement with spec.py's defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from voice_operator import constants as c
from voice_operator.spec import VoiceServiceSpec, parse_spec
from voice_operator.status import autoscaler_status

ROOT = Path(__file__).resolve().parents[2]
CRD = yaml.safe_load((ROOT / "crds" / "voiceservices.yaml").read_text(encoding="utf-8"))
VERSION = CRD["spec"]["versions"][0]
SCHEMA = VERSION["schema"]["openAPIV3Schema"]
# Pass-through objects: their inner fields are Kubernetes' own, not ours.
PASS_THROUGH = {"behavior", "affinity", "annotations", "nodeSelector", "podAnnotations", "labels"}


def test_names_match_the_constants() -> None:
    assert CRD["metadata"]["name"] == f"{c.PLURAL}.{c.GROUP}"
    assert CRD["spec"]["group"] == c.GROUP
    assert CRD["spec"]["names"]["kind"] == c.KIND
    assert CRD["spec"]["names"]["plural"] == c.PLURAL
    assert set(CRD["spec"]["names"]["shortNames"]) == {"vsvc", "voicesvc"}
    assert VERSION["name"] == c.VERSION
    assert VERSION["served"]
    assert VERSION["storage"]


def test_status_and_scale_subresources() -> None:
    assert VERSION["subresources"]["status"] == {}
    assert VERSION["subresources"]["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }


def test_printer_columns() -> None:
    names = [column["name"] for column in VERSION["additionalPrinterColumns"]]
    for wanted in ("Ready", "Replicas", "Endpoint", "RPS/Pod", "Age"):
        assert wanted in names
    (rps,) = [column for column in VERSION["additionalPrinterColumns"] if column["name"] == "RPS/Pod"]
    assert (rps["type"], rps["jsonPath"]) == ("number", ".status.autoscaling.requestsPerSecond")


def test_status_schema_keeps_what_the_status_computation_writes() -> None:
    autoscaling = SCHEMA["properties"]["status"]["properties"]["autoscaling"]["properties"]
    assert set(autoscaling) == set(autoscaler_status(None))


def _walk(schema: dict[str, Any], model: type[BaseModel], path: str) -> list[str]:
    """Differences between a CRD object schema and a pydantic model, recursively."""
    problems: list[str] = []
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    properties = schema.get("properties", {})
    for key in sorted(set(properties) - set(fields)):
        problems.append(f"{path}.{key}: in the CRD, not in spec.py")
    for key in sorted(set(fields) - set(properties)):
        problems.append(f"{path}.{key}: in spec.py, not in the CRD")
    for key in sorted(set(fields) & set(properties)):
        prop, info = properties[key], fields[key]
        if "default" in prop and not info.is_required():
            ours = info.get_default(call_default_factory=True)
            ours = ours.model_dump(by_alias=True, exclude_none=True) if isinstance(ours, BaseModel) else ours
            theirs = prop["default"]
            if theirs != {} and ours != theirs:
                problems.append(f"{path}.{key}: default {theirs!r} in the CRD, {ours!r} in spec.py")
        sub = _submodel(info.annotation)
        if sub is not None and key not in PASS_THROUGH:
            child = prop.get("items", prop) if prop.get("type") == "array" else prop
            problems += _walk(child, sub, f"{path}.{key}")
    return problems


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None`` or ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        inner = _submodel(arg)
        if inner is not None:
            return inner
    return None


def test_schema_and_spec_model_agree() -> None:
    assert _walk(SCHEMA["properties"]["spec"], VoiceServiceSpec, "spec") == []


def test_cel_rules_have_messages() -> None:
    rules: list[dict[str, Any]] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            rules.extend(node.get("x-kubernetes-validations", []))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(SCHEMA)
    assert len(rules) >= 6
    assert all(rule.get("message") for rule in rules)


@pytest.mark.parametrize("sample", sorted((ROOT / "e2e" / "samples").glob("*.yaml")), ids=lambda p: p.name)
def test_samples_parse(sample: Path) -> None:
    for doc in yaml.safe_load_all(sample.read_text(encoding="utf-8")):
        if doc and doc.get("kind") == c.KIND:
            parse_spec(doc["spec"])


def _properties(node: dict[str, Any]) -> dict[str, Any]:
    return dict(node.get("properties") or (node.get("items") or {}).get("properties") or {})


def _paths(node: dict[str, Any], path: str) -> list[str]:
    """Leaf field paths (pass-through objects count as leaves)."""
    found = []
    for key, child in _properties(node).items():
        if key in PASS_THROUGH or key == "tolerations" or not _properties(child):
            found.append(f"{path}.{key}")
        else:
            found += _paths(child, f"{path}.{key}")
    return found


def test_every_field_is_documented() -> None:
    doc = (ROOT / "docs" / "voiceservice.md").read_text(encoding="utf-8")
    missing = [p for p in _paths(SCHEMA["properties"]["spec"], "spec") if f"`{p}`" not in doc]
    missing += [p for p in _paths(SCHEMA["properties"]["status"], "status") if f"`{p}`" not in doc]
    missing = [p for p in missing if not p.startswith(("status.conditions.", "status.kopf"))]
    assert missing == []
