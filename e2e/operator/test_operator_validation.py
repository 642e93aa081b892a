"""Bad specs are refused by the API server itself (schema and CEL rules), with clear messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from vsvc_support import Kubectl, voiceservice

pytestmark = pytest.mark.cluster

_MODEL = {"gptWeights": "g.ckpt", "sovitsWeights": "s.pth"}
_PRO_MODEL = {**_MODEL, "version": "v2ProPlus"}
_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _hub(**source: Any) -> dict[str, Any]:
    return {"huggingFace": {"repo": "o/v", "revision": _COMMIT, **source}}


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        (
            "minmax",
            {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}},
            "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
        ),
        (
            "nosource",
            {"model": {**_MODEL, "source": {}}},
            "model.source needs exactly one of persistentVolumeClaim, hostPath, image, http, huggingFace",
        ),
        (
            "twosources",
            {"model": {**_MODEL, "source": {"image": {}, "hostPath": {"path": "/m"}}}},
            "model.source needs exactly one of",
        ),
        ("nohost", {"ingress": {"enabled": True}}, "ingress.host is required when ingress.enabled is true"),
        (
            "fp16cpu",
            {"inference": {"precision": "fp16"}},
            "inference.precision fp16 and bf16 need resources.gpu >= 1",
        ),
        (
            "pdbboth",
            {"podDisruptionBudget": {"enabled": True, "minAvailable": 1, "maxUnavailable": 1}},
            "podDisruptionBudget takes minAvailable or maxUnavailable, not both",
        ),
        (
            "badsha",
            {"model": {**_MODEL, "source": {"http": {"url": "https://e.x/m.tar", "sha256": "nope"}}}},
            "spec.model.source.http.sha256",
        ),
        ("badversion", {"model": {**_MODEL, "version": "v9", "source": {"image": {}}}}, "spec.model.version"),
        ("batch0", {"inference": {"maxBatchSize": 0}}, "spec.inference.maxBatchSize"),
        ("badscheduler", {"inference": {"scheduler": "fifo"}}, "spec.inference.scheduler"),
        ("tokens0", {"inference": {"maxTokensPerSentence": 0}}, "spec.inference.maxTokensPerSentence"),
        ("cache0", {"inference": {"gptCacheMiB": 0}}, "spec.inference.gptCacheMiB"),
        ("sovitsbatch0", {"inference": {"sovitsMaxBatchSize": 0}}, "spec.inference.sovitsMaxBatchSize"),
        ("sovitsbatch65", {"inference": {"sovitsMaxBatchSize": 65}}, "spec.inference.sovitsMaxBatchSize"),
        ("firstchunk3", {"inference": {"firstChunkTokens": 3}}, "spec.inference.firstChunkTokens"),
        (
            "dupspeaker",
            {"speakers": [{"id": "a", "refAudio": "a.wav"}, {"id": "a", "refAudio": "b.wav"}]},
            "Duplicate value",
        ),
        ("Bad-Name", {}, "metadata.name must start with a letter"),
        ("x" * 51, {}, "metadata.name must be at most 50 characters"),
        ("nomodel", {"model": None}, "spec.model: Required value"),
        (
            "svonv2",
            {"model": {**_MODEL, "svWeights": "sv/x.ckpt", "source": {"image": {}}}},
            "model.svWeights is only used by v2Pro and v2ProPlus models",
        ),
        (
            "svnotfetched",
            {
                "model": {
                    **_PRO_MODEL,
                    "source": _hub(files=["s.pth", "g.ckpt"]),
                }
            },
            "a v2Pro or v2ProPlus model needs its speaker-verification file",
        ),
        (
            "svotherfile",
            {
                "model": {
                    **_PRO_MODEL,
                    "svWeights": "mine/sv.ckpt",
                    "source": _hub(files=["sv/pretrained_eres2netv2w24s4ep4.ckpt"]),
                }
            },
            "a v2Pro or v2ProPlus model needs its speaker-verification file",
        ),
        (
            "hubmain",
            {"model": {**_MODEL, "source": _hub(revision="main", files=["*"])}},
            "model.source.huggingFace.revision must be a full 40-character commit id (a branch or tag "
            "can move under the pods); set allowMovingRevision: true to accept one anyway",
        ),
        (
            "hubshort",
            {"model": {**_MODEL, "source": _hub(revision=_COMMIT[:7], files=["*"])}},
            "model.source.huggingFace.revision must be a full 40-character commit id",
        ),
        (
            "hubnorev",
            {"model": {**_MODEL, "source": {"huggingFace": {"repo": "o/v", "files": ["*"]}}}},
            "spec.model.source.huggingFace.revision: Required value",
        ),
        (
            "hubbadsha",
            {"model": {**_MODEL, "source": _hub(files=["*"], sha256={"g.ckpt": "ABC"})}},
            "spec.model.source.huggingFace.sha256.g.ckpt",
        ),
    ],
)
def test_bad_spec_is_refused(kubectl: Kubectl, name: str, spec: dict[str, Any], message: str) -> None:
    manifest = voiceservice(name, **spec)
    if manifest["spec"].get("model") is None:
        del manifest["spec"]["model"]
    result = kubectl.create(manifest, check=False)
    assert result.returncode != 0, f"accepted: {manifest}"
    assert message in result.stderr, result.stderr
    assert kubectl.get("voiceservice", name) is None


def test_a_good_spec_is_accepted_with_defaults(kubectl: Kubectl) -> None:
    kubectl.create(voiceservice("fine"))
    stored = kubectl.get("voiceservice", "fine")
    assert stored is not None
    spec = stored["spec"]
    assert spec["replicas"] == 1
    assert spec["model"]["version"] == "v2"
    assert spec["model"]["source"]["image"]["path"] == "/models"
    assert spec["inference"]["maxBatchSize"] == 32
    assert spec["inference"]["scheduler"] == "continuous"
    assert "maxTokensPerSentence" not in spec["inference"]
    assert spec["autoscaling"]["targetRequestsPerSecond"] == 50
    assert spec["service"] == {"type": "ClusterIP", "port": 8000}


def test_the_sample_is_accepted(kubectl: Kubectl) -> None:
    from vsvc_support import ROOT

    result = kubectl.run("apply", "--dry-run=server", "-f", str(ROOT / "e2e" / "samples" / "narrator.yaml"))
    assert "narrator" in result.stdout


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("prodefault", {**_PRO_MODEL, "source": {"image": {}}}),
        (
            "prohub",
            {
                **_PRO_MODEL,
                "source": _hub(files=["g.ckpt", "s.pth", "sv/pretrained_eres2netv2w24s4ep4.ckpt"]),
            },
        ),
        ("proglob", {**_PRO_MODEL, "svWeights": "x/sv.ckpt", "source": _hub(files=["*"])}),
    ],
)
def test_pro_models_with_their_sv_file_are_accepted(
    kubectl: Kubectl, name: str, model: dict[str, Any]
) -> None:
    result = kubectl.run(
        "create", "--dry-run=server", "-f", "-", input=json.dumps(voiceservice(name, model=model))
    )
    assert name in result.stdout


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("hubpinned", _hub(files=["*"], sha256={"g.ckpt": "a" * 64, "s.pth": "b" * 64})),
        ("hubmoving", _hub(revision="main", allowMovingRevision=True, files=["*"])),
    ],
)
def test_pinned_or_explicitly_moving_hub_revisions_are_accepted(
    kubectl: Kubectl, name: str, source: dict[str, Any]
) -> None:
    manifest = voiceservice(name, model={**_MODEL, "source": source})
    result = kubectl.run("create", "--dry-run=server", "-o", "json", "-f", "-", input=json.dumps(manifest))
    stored = json.loads(result.stdout)["spec"]["model"]["source"]["huggingFace"]
    assert stored["allowMovingRevision"] is (name == "hubmoving")  # defaulted to false
