"""SoVITS checkpoint loading: clear errors for bad files, the writer, full-size and v1 files."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import pytest
import torch

from gpt_sovits.errors import CheckpointError
from gpt_sovits.sovits import SovitsConfig, load_sovits, load_sovits_checkpoint, save_sovits_checkpoint
from gpt_sovits.sovits.config import symbols_version, version_from_file_head
from gpt_sovits.sovits.demo import random_sovits, write_random_sovits
from gpt_sovits.sovits.model import export_state_dict


@pytest.fixture(scope="module")
def tiny_bytes(conformance_dir: Path) -> bytes:
    return (conformance_dir / "sovits_tiny.pth").read_bytes()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_sovits_checkpoint_reads_hparams_config_and_drops_nothing_needed(conformance_dir: Path) -> None:
    ckpt = load_sovits_checkpoint(conformance_dir / "sovits_tiny.pth")
    assert ckpt.info == "1epoch_1iteration"
    assert ckpt.config.version == "v2"
    assert all(t.dtype == torch.float32 for t in ckpt.weights.values())
    assert not [k for k in ckpt.weights if k.startswith("enc_q.")]


def test_sovits_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.pth"
    with pytest.raises(CheckpointError, match=r"absent\.pth: SoVITS checkpoint not found"):
        load_sovits(path)


def test_sovits_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.pth", b"")
    with pytest.raises(CheckpointError, match=r"empty\.pth: file is empty or truncated"):
        load_sovits(path)


def test_sovits_truncated_file(tmp_path: Path, tiny_bytes: bytes) -> None:
    path = _write(tmp_path, "cut.pth", tiny_bytes[: len(tiny_bytes) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pth: truncated or corrupt checkpoint archive"):
        load_sovits(path)


def test_sovits_not_a_checkpoint(tmp_path: Path) -> None:
    path = _write(tmp_path, "notes.pth", b"hello, these are notes, not weights\n" * 100)
    with pytest.raises(
        CheckpointError, match=r"notes\.pth: not a checkpoint \(no torch zip archive header\)"
    ):
        load_sovits(path)


@pytest.mark.parametrize(("marker", "version"), [(b"02", "v3"), (b"03", "v3"), (b"04", "v4")])
def test_sovits_other_version_header(tmp_path: Path, tiny_bytes: bytes, marker: bytes, version: str) -> None:
    path = _write(tmp_path, "later.pth", marker + tiny_bytes[2:])
    with pytest.raises(CheckpointError, match=rf"later\.pth: this is a SoVITS {version} checkpoint"):
        load_sovits(path)


@pytest.mark.parametrize(("marker", "version"), [(b"05", "v2Pro"), (b"06", "v2ProPlus")])
def test_sovits_pro_header_on_a_v2_model_is_named(
    tmp_path: Path, tiny_bytes: bytes, marker: bytes, version: str
) -> None:
    path = _write(tmp_path, "marked.pth", marker + tiny_bytes[2:])
    with pytest.raises(
        CheckpointError, match=rf"marked\.pth: the header marks a SoVITS {version} checkpoint, but it lacks"
    ):
        load_sovits(path)


def test_sovits_v3_sized_file_is_refused_before_reading(tmp_path: Path, tiny_bytes: bytes) -> None:
    path = _write(tmp_path, "huge.pth", tiny_bytes)
    # A sparse 800 MiB file: the official size rule calls it v3; nothing past the head is read.
    with path.open("r+b") as handle:
        handle.truncate(800 * 1024 * 1024)
    with pytest.raises(CheckpointError, match=r"huge\.pth: this is a SoVITS v3 checkpoint"):
        load_sovits(path)


def test_sovits_version_rules() -> None:
    assert version_from_file_head(b"PK\x03\x04" + bytes(100), 50_000_000) == "v2"
    assert version_from_file_head(b"PK\x03\x04" + bytes(100), 700 * 1024 * 1024) == "v3"
    assert version_from_file_head(b"03" + bytes(100), 1000) == "v3"
    assert version_from_file_head(b"00" + bytes(100), 1000) == "v1"
    assert symbols_version(322) == "v1"
    assert symbols_version(732) == "v2"
    assert symbols_version(None) == "v2"


def test_sovits_v2_version_header_is_accepted(tmp_path: Path, tiny_bytes: bytes, manifest: dict) -> None:
    path = _write(tmp_path, "marked.pth", b"01" + tiny_bytes[2:])
    assert load_sovits(path).config.inter_channels == manifest["s2_model_overrides"]["inter_channels"]


def test_sovits_gpt_checkpoint_is_named(conformance_dir: Path) -> None:
    with pytest.raises(
        CheckpointError, match=r"t2s_tiny\.ckpt: this is a GPT \(text-to-semantic\) checkpoint"
    ):
        load_sovits(conformance_dir / "t2s_tiny.ckpt")


def test_sovits_wrong_layout(tmp_path: Path) -> None:
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(CheckpointError, match=r"list\.pth: not a SoVITS checkpoint \(top level is list\)"):
        load_sovits(path)
    path = tmp_path / "dict.pth"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(CheckpointError, match=r"dict\.pth: not a SoVITS checkpoint \(expected 'weight'"):
        load_sovits(path)


class _Payload:
    """Pickles as a call to print: loading must refuse it rather than run it."""

    def __reduce__(self):
        return (builtins.print, ("PAYLOAD EXECUTED",))


def test_sovits_refuses_code_in_pickle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"weight": {}, "config": _Payload(), "info": ""}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pth: refused to load"):
        load_sovits(path)
    assert "PAYLOAD EXECUTED" not in capsys.readouterr().out


def test_sovits_missing_tensor_is_named(tmp_path: Path) -> None:
    config = SovitsConfig(inter_channels=32, filter_channels=64, n_layers=2, upsample_initial_channel=32)
    weights = export_state_dict(random_sovits(config))
    del weights["dec.conv_post.weight"]
    path = tmp_path / "holed.pth"
    save_sovits_checkpoint(path, weights, config, "holed")
    with pytest.raises(
        CheckpointError, match=r"holed\.pth: SoVITS checkpoint is missing 1 tensors: dec\.conv_post"
    ):
        load_sovits(path)


def test_sovits_shape_disagreeing_with_config_is_named(tmp_path: Path) -> None:
    small = SovitsConfig(inter_channels=32, filter_channels=64, n_layers=2, upsample_initial_channel=32)
    weights = export_state_dict(random_sovits(small))
    path = tmp_path / "mixed.pth"
    save_sovits_checkpoint(
        path,
        weights,
        SovitsConfig(inter_channels=48, filter_channels=64, n_layers=2, upsample_initial_channel=32),
        "mixed",
    )
    with pytest.raises(CheckpointError, match=r"mixed\.pth: tensor .* has shape .* config implies"):
        load_sovits(path)


def test_sovits_writer_round_trips_the_tiny_model(tmp_path: Path, conformance_dir: Path) -> None:
    original = load_sovits(conformance_dir / "sovits_tiny.pth")
    path = tmp_path / "copy.pth"
    save_sovits_checkpoint(path, export_state_dict(original), original.config, "copy")
    on_disk = torch.load(path, weights_only=True)
    assert set(on_disk) == {"weight", "config", "info"}
    assert all(t.dtype == torch.float16 for t in on_disk["weight"].values())
    assert path.read_bytes()[:2] == b"PK"
    reloaded = load_sovits(path)
    assert reloaded.config == original.config
    for key, tensor in original.state_dict().items():
        # Weight norm re-splits in fp16, so folded weights agree to fp16 precision only.
        torch.testing.assert_close(reloaded.state_dict()[key], tensor, rtol=2e-3, atol=1e-4, msg=key)


def test_sovits_full_size_default_checkpoint(tmp_path: Path, conformance_dir: Path) -> None:
    schema_path = conformance_dir.parent.parent / "gpt-sovits" / "v2_state_dict_schema.json"
    schema = json.loads(schema_path.read_text())["sovits_pth"]
    path = write_random_sovits(tmp_path / "full.pth", SovitsConfig(), seed=3, info="full-size random")
    on_disk = torch.load(path, weights_only=True)["weight"]
    assert {k: list(v.shape) for k, v in on_disk.items()} == schema["weight"]
    assert sum(v.numel() for v in on_disk.values()) == schema["n_params"]
    model = load_sovits(path)
    assert model.config == SovitsConfig()
    codes = torch.randint(0, 1024, (1, 1, 6))
    text = torch.randint(0, 732, (1, 9))
    wav = model.decode(
        codes, text, [torch.rand(1, 1025, 40)], noise_scale=0.5, generator=torch.Generator().manual_seed(0)
    )
    assert wav.shape == (1, 1, 12 * 640)
    assert torch.isfinite(wav).all()


def test_sovits_v1_checkpoint_uses_v1_symbols_and_all_bins(tmp_path: Path) -> None:
    config = SovitsConfig(
        version="v1",
        n_symbols=322,
        inter_channels=32,
        filter_channels=64,
        n_layers=2,
        upsample_initial_channel=32,
    )
    path = write_random_sovits(tmp_path / "v1.pth", config, seed=1)
    model = load_sovits(path)
    assert (model.config.version, model.config.n_symbols, model.config.ref_enc_bins) == ("v1", 322, 1025)
    wav = model.decode(
        torch.zeros(1, 1, 4, dtype=torch.long),
        torch.zeros(1, 5, dtype=torch.long),
        [torch.rand(1, 1025, 30)],
        noise_scale=0.0,
    )
    assert wav.shape == (1, 1, 8 * 640)
