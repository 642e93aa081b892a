"""Parsing of VoiceService specs: defaults, camelCase names, refusals with the field's path."""

from __future__ import annotations

from typing import Any

import kopf
import pytest

from voice_operator.errors import SpecInvalidError
from voice_operator.spec import parse_spec

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def minimal(**extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "model": {
            "gptWeights": "g.ckpt",
            "sovitsWeights": "s.pth",
            "source": {"persistentVolumeClaim": {"claimName": "models"}},
        }
    }
    spec.update(extra)
    return spec


def test_defaults_of_a_minimal_spec() -> None:
    spec = parse_spec(minimal())
    assert spec.replicas == 1
    assert spec.image is None
    assert spec.model.version == "v2"
    assert spec.model.source.kind == "persistentVolumeClaim"
    assert spec.model.source.persistent_volume_claim is not None
    assert spec.model.source.persistent_volume_claim.read_only is True
    assert spec.resources.gpu == 1
    assert spec.resources.gpu_resource_name == "nvidia.com/gpu"
    assert spec.inference.precision == "auto"
    assert spec.inference.max_batch_size == 32
    assert spec.autoscaling.enabled is False
    assert spec.autoscaling.target_cpu_utilization == 70
    assert spec.autoscaling.target_requests_per_second == 50
    assert spec.service.port == 8000
    assert spec.ingress.enabled is False
    assert spec.speakers == []


def test_camel_case_fields_and_quantities() -> None:
    spec = parse_spec(
        minimal(
            imagePullSecrets=["regcred"],
            resources={"gpu": 2, "requests": {"cpu": 2, "memory": "8Gi"}},
            autoscaling={"enabled": True, "targetCPUUtilization": 55, "targetRequestsPerSecond": 12.5},
            speakers=[{"id": "a", "refAudio": "a.wav", "promptText": "hi", "promptLanguage": "en"}],
        )
    )
    assert spec.image_pull_secrets == ["regcred"]
    assert spec.resources.requests.cpu == "2"  # integers become quantity strings
    assert spec.autoscaling.target_cpu_utilization == 55
    assert spec.speakers[0].prompt_language == "en"


@pytest.mark.parametrize(
    "source",
    [
        {"hostPath": {"path": "/data/models"}},
        {"image": {}},
        {"http": {"url": "https://example.com/m.tar.gz", "sha256": "a" * 64}},
        {"huggingFace": {"repo": "org/voice", "revision": COMMIT, "files": ["*.ckpt"]}},
    ],
)
def test_every_source_kind_parses(source: dict[str, Any]) -> None:
    spec = parse_spec(minimal(model={"gptWeights": "g", "sovitsWeights": "s", "source": source}))
    assert spec.model.source.kind == next(iter(source))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (minimal(model={"gptWeights": "g", "sovitsWeights": "s", "source": {}}), "exactly one of"),
        (
            minimal(
                model={
                    "gptWeights": "g",
                    "sovitsWeights": "s",
                    "source": {"image": {}, "hostPath": {"path": "/x"}},
                }
            ),
            "exactly one of",
        ),
        (minimal(autoscaling={"minReplicas": 5, "maxReplicas": 2}), "minReplicas must not exceed"),
        (minimal(ingress={"enabled": True}), "ingress.host is required"),
        (minimal(podDisruptionBudget={"minAvailable": 1, "maxUnavailable": 1}), "not both"),
        (minimal(inference={"precision": "fp16"}, resources={"gpu": 0}), "needs resources.gpu >= 1"),
        (
            minimal(speakers=[{"id": "a", "refAudio": "x"}, {"id": "a", "refAudio": "y"}]),
            "speaker ids must be unique",
        ),
        (minimal(replicas=-1), "spec.replicas"),
        (minimal(inference={"maxBatchSize": 0}), "spec.inference.maxBatchSize"),
        ({"replicas": 1}, "spec.model"),
        (
            minimal(
                model={
                    "gptWeights": "g",
                    "sovitsWeights": "s",
                    "source": {"http": {"url": "ftp://x", "sha256": "0" * 64}},
                }
            ),
            "spec.model.source.http.url",
        ),
    ],
)
def test_invalid_specs_are_permanent_errors(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecInvalidError, match="invalid VoiceService spec") as caught:
        parse_spec(spec)
    assert message in str(caught.value)
    assert isinstance(caught.value, kopf.PermanentError)  # kopf will not retry it


def _pro_model(version: str = "v2Pro", **extra: Any) -> dict[str, Any]:
    model: dict[str, Any] = {
        "version": version,
        "gptWeights": "s1v3.ckpt",
        "sovitsWeights": "v2Pro/s2Gv2Pro.pth",
        "source": {"persistentVolumeClaim": {"claimName": "models"}},
    }
    model.update(extra)
    return minimal(model=model)


@pytest.mark.parametrize("version", ["v2Pro", "v2ProPlus"])
def test_pro_versions_default_to_the_official_sv_file(version: str) -> None:
    model = parse_spec(_pro_model(version)).model
    assert model.sv_weights is None
    assert model.speaker_verification_file == "sv/pretrained_eres2netv2w24s4ep4.ckpt"
    named = parse_spec(_pro_model(version, svWeights="models/sv.ckpt")).model
    assert named.speaker_verification_file == "models/sv.ckpt"


def test_v2_reads_no_sv_file() -> None:
    assert parse_spec(minimal()).model.speaker_verification_file is None


@pytest.mark.parametrize(
    "files",
    [["s1v3.ckpt", "v2Pro/*", "sv/pretrained_eres2netv2w24s4ep4.ckpt"], ["*"], ["sv/*.ckpt", "*.pth"]],
)
def test_pro_hugging_face_source_fetching_the_sv_file(files: list[str]) -> None:
    spec = _pro_model(
        source={"huggingFace": {"repo": "lj1995/GPT-SoVITS", "revision": COMMIT, "files": files}}
    )
    assert parse_spec(spec).model.speaker_verification_file == "sv/pretrained_eres2netv2w24s4ep4.ckpt"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            minimal(
                model={
                    "gptWeights": "g",
                    "sovitsWeights": "s",
                    "svWeights": "sv.ckpt",
                    "source": {"image": {}},
                }
            ),
            "model.svWeights is only used by v2Pro and v2ProPlus models",
        ),
        (
            _pro_model(
                source={
                    "huggingFace": {
                        "repo": "org/voice",
                        "revision": COMMIT,
                        "files": ["s1v3.ckpt", "v2Pro/*.pth"],
                    }
                }
            ),
            "needs its speaker-verification file (sv/pretrained_eres2netv2w24s4ep4.ckpt, model.svWeights)",
        ),
        (
            _pro_model(
                "v2ProPlus",
                svWeights="sv/mine.ckpt",
                source={
                    "huggingFace": {
                        "repo": "org/voice",
                        "revision": COMMIT,
                        "files": ["sv/pretrained_*.ckpt"],
                    }
                },
            ),
            "a v2ProPlus model needs its speaker-verification file (sv/mine.ckpt",
        ),
        (_pro_model(svWeights=""), "spec.model.svWeights"),
    ],
)
def test_pro_sv_file_problems_are_invalid_specs(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecInvalidError, match="invalid VoiceService spec") as caught:
        parse_spec(spec)
    assert message in str(caught.value)


def _hub(**source: Any) -> dict[str, Any]:
    hub = {"repo": "org/voice", "revision": COMMIT, "files": ["g.ckpt", "voices/*.pth"], **source}
    return minimal(model={"gptWeights": "g.ckpt", "sovitsWeights": "s.pth", "source": {"huggingFace": hub}})


def test_hugging_face_is_pinned_to_a_commit_with_optional_checksums() -> None:
    hub = parse_spec(_hub(sha256={"g.ckpt": "a" * 64, "voices/s.pth": "b" * 64})).model.source.hugging_face
    assert hub is not None
    assert (hub.revision, hub.allow_moving_revision) == (COMMIT, False)
    assert hub.sha256 == {"g.ckpt": "a" * 64, "voices/s.pth": "b" * 64}
    moving = parse_spec(_hub(revision="main", allowMovingRevision=True)).model.source.hugging_face
    assert moving is not None
    assert moving.revision == "main"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"revision": "main"}, "revision must be a full 40-character commit id"),
        ({"revision": "v1.0"}, "set allowMovingRevision: true to accept one anyway"),
        ({"revision": COMMIT.upper()}, "revision must be a full 40-character commit id"),
        ({"revision": COMMIT[:12]}, "revision must be a full 40-character commit id"),
        ({"revision": None}, "spec.model.source.huggingFace.revision"),
        ({"sha256": {"g.ckpt": "nothex"}}, "spec.model.source.huggingFace.sha256.g.ckpt"),
        ({"sha256": {"other.ckpt": "a" * 64}}, "sha256 lists 'other.ckpt', which is not a file"),
        ({"sha256": {"voices/*.pth": "a" * 64}}, "sha256 lists 'voices/*.pth', which is not a file"),
    ],
)
def test_unpinned_or_unchecked_hugging_face_sources_are_refused(source: dict[str, Any], message: str) -> None:
    spec = _hub(**source)
    if source.get("revision", "") is None:
        del spec["model"]["source"]["huggingFace"]["revision"]
    with pytest.raises(SpecInvalidError, match="invalid VoiceService spec") as caught:
        parse_spec(spec)
    assert message in str(caught.value)
