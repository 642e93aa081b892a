"""Pro SoVITS and SV files: version detection, writer, errors, and released-size models end to end."""

from __future__ import annotations

import builtins
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
import torch

from gpt_sovits.demo import synthetic_reference
from gpt_sovits.errors import CheckpointError
from gpt_sovits.pipeline import SemanticSentence, SentenceJob, SynthesisParams, Synthesizer, VoiceReference
from gpt_sovits.sovits import SovitsConfig, load_sovits, load_sovits_checkpoint, save_sovits_checkpoint
from gpt_sovits.sovits.config import PRETRAINED_MD5, version_from_file_head
from gpt_sovits.sovits.demo import demo_config, random_sovits, write_random_sovits
from gpt_sovits.sovits.model import export_state_dict
from gpt_sovits.sv import ERes2NetConfig, ERes2NetV2, load_eres2net, save_eres2net
from gpt_sovits.sv.demo import demo_sv_config, random_eres2net, write_random_sv
from gpt_sovits.t2s import T2SConfig
from gpt_sovits.t2s.checkpoint import write_t2s_checkpoint
from gpt_sovits.t2s.demo import random_t2s

PRO_FILES = [("sovits_v2pro_tiny.pth", "v2Pro"), ("sovits_v2proplus_tiny.pth", "v2ProPlus")]


@pytest.fixture(scope="module")
def detect(v2pro_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((v2pro_dir / "version_detect.json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def schema(v2pro_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (v2pro_dir / "v2pro_state_dict_schema.json").read_text(encoding="utf-8")
    )
    return loaded


def test_header_table_is_the_official_one(detect: dict[str, Any]) -> None:
    for header, (_, model_version, _) in detect["head2version"].items():
        assert version_from_file_head(header.encode() + bytes(100), 1000) == model_version, header
    table = detect["hash_pretrained_dict (md5 of first 8192 bytes)"]
    assert {digest: model for digest, (_, model, _) in table.items()} == PRETRAINED_MD5


@pytest.mark.parametrize(("name", "version"), PRO_FILES)
def test_pro_file_detection_and_layout(
    v2pro_dir: Path, detect: dict[str, Any], name: str, version: str
) -> None:
    facts = detect["files"][name]
    path = v2pro_dir / name
    head = path.read_bytes()[:8192]
    assert head[:4].hex() == facts["first_4_bytes_hex"]
    assert version_from_file_head(head, path.stat().st_size) == facts["get_sovits_version_from_path_fast"][1]
    ckpt = load_sovits_checkpoint(path)
    assert ckpt.config.version == version == facts["config_model_version"]
    assert ckpt.info == facts["info"]
    for key, shape in {**facts["pro_only_keys"], **facts["dec_shapes"]}.items():
        assert list(ckpt.weights[key].shape) == shape, key
    assert len(ckpt.weights) == facts["n_tensors"]
    assert ckpt.config.gin_channels == facts["pro_only_keys"]["prelu.weight"][0]
    assert ckpt.config.upsample_kernel_sizes[0] == facts["dec_shapes"]["dec.ups.0.weight_v"][-1]


@pytest.mark.parametrize("version", ["v2Pro", "v2ProPlus"])
def test_pro_writer_marks_the_header_and_round_trips(tmp_path: Path, version: str) -> None:
    path = write_random_sovits(tmp_path / "pro.pth", demo_config(version, sv_dim=96), seed=2)
    assert path.read_bytes()[:2] == {"v2Pro": b"05", "v2ProPlus": b"06"}[version]
    model = load_sovits(path)
    assert model.config == demo_config(version, sv_dim=96)
    assert model.version == version


def test_pro_file_without_header_is_known_by_its_config(tmp_path: Path, v2pro_dir: Path) -> None:
    data = (v2pro_dir / "sovits_v2proplus_tiny.pth").read_bytes()
    path = tmp_path / "resaved.pth"
    path.write_bytes(b"PK" + data[2:])
    assert load_sovits(path).version == "v2ProPlus"


def test_pro_tensors_with_a_v2_config_are_named(tmp_path: Path) -> None:
    config = demo_config("v2Pro", sv_dim=96)
    weights = export_state_dict(random_sovits(config))
    payload = {"weight": weights, "config": SovitsConfig().to_sections(), "info": "mixed"}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = tmp_path / "mixed.pth"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(
        CheckpointError, match=r"mixed\.pth: the file carries v2Pro speaker-verification tensors"
    ):
        load_sovits(path)


@pytest.mark.parametrize(("name", "version"), PRO_FILES)
def test_truncated_pro_file_is_named(tmp_path: Path, v2pro_dir: Path, name: str, version: str) -> None:
    data = (v2pro_dir / name).read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match=r"cut\.pth: truncated or corrupt checkpoint archive"):
        load_sovits(path)


def test_pro_file_missing_its_projection_is_named(tmp_path: Path) -> None:
    config = demo_config("v2ProPlus", sv_dim=96)
    weights = export_state_dict(random_sovits(config))
    del weights["ge_to512.weight"]
    path = tmp_path / "holed.pth"
    save_sovits_checkpoint(path, weights, config, "holed")
    with pytest.raises(
        CheckpointError, match=r"holed\.pth: SoVITS checkpoint is missing 1 tensors: ge_to512"
    ):
        load_sovits(path)


def test_sv_writer_round_trips(tmp_path: Path) -> None:
    path = write_random_sv(tmp_path / "sv.ckpt", seed=4)
    loaded = load_eres2net(path)
    assert loaded.config == demo_sv_config()
    original = random_eres2net(demo_sv_config(), seed=4)
    for key, tensor in original.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key
    fbank = torch.randn(1, 120, 80)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(fbank), original(fbank))


def test_sv_missing_tensor_is_named(tmp_path: Path) -> None:
    weights = random_eres2net(demo_sv_config()).state_dict()
    del weights["layer3_ds.weight"]
    path = tmp_path / "holed.ckpt"
    torch.save(weights, path)
    with pytest.raises(CheckpointError, match=r"holed\.ckpt: not the ERes2NetV2 layout: 1 tensors missing"):
        load_eres2net(path)


def test_sv_foreign_state_dict_is_named(tmp_path: Path) -> None:
    path = tmp_path / "other.ckpt"
    torch.save({"encoder.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CheckpointError, match=r"other\.ckpt: not an ERes2NetV2 speaker-verification state"):
        load_eres2net(path)


class _Payload:
    """Pickles as a call to print: loading must refuse it rather than run it."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (builtins.print, ("PAYLOAD EXECUTED",))


def test_sv_refuses_code_in_pickle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"conv1.weight": _Payload()}, path)
    with pytest.raises(CheckpointError, match=r"evil\.ckpt: refused to load"):
        load_eres2net(path)
    assert "PAYLOAD EXECUTED" not in capsys.readouterr().out


def test_released_sv_layout_matches_the_schema(schema: dict[str, Any]) -> None:
    expected = schema["sv_eres2netv2w24s4"]
    # Meta-device construction: shapes only, no 200 MB of weights.
    with torch.device("meta"):
        net = ERes2NetV2(ERes2NetConfig())
    shapes = {k: list(v.shape) for k, v in net.state_dict().items()}
    assert shapes == expected["weight"]
    assert len(shapes) == expected["n_tensors"]
    # The schema counts every stored element (BatchNorm statistics included).
    assert sum(v.numel() for v in net.state_dict().values()) == expected["n_params"]
    assert net.config.embedding_dim == SovitsConfig().sv_dim


@pytest.mark.parametrize("version", ["v2Pro", "v2ProPlus"])
def test_released_pro_sovits_layout_matches_the_schema(schema: dict[str, Any], version: str) -> None:
    expected = schema[f"sovits_{version}"]
    with torch.device("meta"):
        model = random_sovits(SovitsConfig.released(version))
    shapes = {k: list(v.shape) for k, v in export_state_dict(model).items()}
    assert shapes == expected["weight"]
    assert len(shapes) == expected["n_tensors"]
    assert sum(int(np.prod(s)) for s in shapes.values()) == expected["n_params"]
    sections = SovitsConfig.released(version).to_sections()["model"]
    for key, value in sections.items():
        if key != "p_dropout":  # training-only (0.0 in the Pro configs)
            assert expected["config"]["model"][key] == value, key


@pytest.mark.slow
def test_released_size_v2proplus_loads_and_decodes_five_seconds(tmp_path: Path) -> None:
    """Full-size random GPT + v2ProPlus SoVITS + SV files in the official format, through Synthesizer."""
    gpt = write_t2s_checkpoint(random_t2s(T2SConfig(), seed=1), tmp_path / "s1v3.ckpt", info="random")
    sovits = write_random_sovits(
        tmp_path / "s2Gv2ProPlus.pth", SovitsConfig.released("v2ProPlus"), seed=1, info="random"
    )
    sv = tmp_path / "pretrained_eres2netv2w24s4ep4.ckpt"
    save_eres2net(sv, random_eres2net(ERes2NetConfig(), seed=1))
    synth = Synthesizer.load(gpt, sovits, device="cpu", precision="fp32", sv_weights=sv)
    assert synth.version == "v2ProPlus"
    assert synth.sovits.config == SovitsConfig.released("v2ProPlus")
    reference = tmp_path / "reference.wav"
    soundfile.write(str(reference), synthetic_reference(0, seconds=5.0), 32000, subtype="PCM_16")
    voice = VoiceReference(reference)
    params = SynthesisParams(language="en", seed=3)
    prepared = synth.prepare(SentenceJob("Hello there.", voice, params))
    assert prepared.reference.speaker_verification is not None
    assert prepared.reference.speaker_verification.shape == (1, SovitsConfig().sv_dim)
    # 5 s of audio: 125 semantic ids at 25 Hz.
    tokens = torch.randint(0, 1024, (125,), generator=torch.Generator().manual_seed(0))
    wave = synth.vocode(SemanticSentence(prepared, tokens))
    assert wave.shape == (5 * synth.sample_rate,)
    assert np.isfinite(wave).all()
    assert np.abs(wave).max() > 0
