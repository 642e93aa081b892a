"""Reading and writing GPT checkpoints in the official format, and the errors for bad files."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from gpt_sovits.errors import CheckpointError
from gpt_sovits.t2s import T2SConfig, load_t2s, read_t2s_checkpoint, write_t2s_checkpoint
from gpt_sovits.t2s.decode import DecodeRequest, SamplingParams, decode_one
from gpt_sovits.t2s.demo import DEMO_INFO, random_t2s, write_demo_t2s


@pytest.fixture(scope="module")
def tiny_path(conformance_dir: Path) -> Path:
    return conformance_dir / "t2s_tiny.ckpt"


@pytest.fixture(scope="module")
def schema(conformance_dir: Path) -> dict:
    path = conformance_dir.parent.parent / "gpt-sovits" / "v2_state_dict_schema.json"
    return json.loads(path.read_text())["t2s_ckpt"]


def test_t2s_read_keeps_the_file_as_stored(tiny_path: Path, manifest: dict) -> None:
    ckpt = read_t2s_checkpoint(tiny_path)
    assert ckpt.info == "GPT-e1"
    assert ckpt.config.hidden_dim == manifest["t2s_model_overrides"]["hidden_dim"]
    assert ckpt.config.version == "v2"
    assert all(not k.startswith("model.") for k in ckpt.weights)
    assert {v.dtype for v in ckpt.weights.values()} == {torch.float16}


def test_t2s_loaded_weights_are_the_fp16_values(tiny_path: Path) -> None:
    ckpt = read_t2s_checkpoint(tiny_path)
    model = load_t2s(tiny_path)
    state = model.state_dict()
    assert state.keys() == ckpt.weights.keys()
    for key, stored in ckpt.weights.items():
        assert state[key].dtype == torch.float32
        assert torch.equal(state[key], stored.float()), key
    assert not model.training


def test_t2s_writer_reproduces_the_official_layout(tiny_path: Path, tmp_path: Path) -> None:
    original = torch.load(tiny_path, weights_only=True)
    out = write_t2s_checkpoint(load_t2s(tiny_path), tmp_path / "copy.ckpt", info="GPT-e1")
    written = torch.load(out, weights_only=True)
    assert out.read_bytes()[:2] == b"PK"
    assert isinstance(written["weight"], OrderedDict)
    assert list(written["weight"]) == list(original["weight"])
    for key, tensor in original["weight"].items():
        assert written["weight"][key].dtype == torch.float16
        assert torch.equal(written["weight"][key], tensor), key
    assert written["config"]["model"] == original["config"]["model"]
    assert written["config"]["data"]["max_sec"] == original["config"]["data"]["max_sec"]
    assert written["info"] == "GPT-e1"


def test_t2s_full_size_random_checkpoint_round_trip(tmp_path: Path, schema: dict) -> None:
    config = T2SConfig()  # the released v2 sizes: 512 wide, 16 heads, 24 layers
    model = random_t2s(config, seed=7)
    path = write_t2s_checkpoint(model, tmp_path / "full.ckpt", info="GPT-random")

    on_disk = torch.load(path, weights_only=True)
    assert on_disk["config"]["model"] == schema["config_model_section"]
    shapes = {k: list(v.shape) for k, v in on_disk["weight"].items()}
    assert shapes == schema["weight"]
    assert len(shapes) == schema["n_tensors"]
    assert sum(v.numel() for v in on_disk["weight"].values()) == schema["n_params"]
    del on_disk

    loaded = load_t2s(path)
    assert loaded.config == config
    for (key, mine), theirs in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(mine.half().float(), theirs), key
    bert = torch.zeros(1024, 6)
    request = DecodeRequest(torch.arange(6), bert, torch.arange(4), SamplingParams.greedy(), max_new_tokens=3)
    result = decode_one(loaded, request)
    assert result.steps == 3
    assert bool((result.tokens < config.vocab_size - 1).all())


def test_t2s_demo_checkpoint_is_labelled_and_loads(tmp_path: Path) -> None:
    path = write_demo_t2s(tmp_path / "demo.ckpt")
    ckpt = read_t2s_checkpoint(path)
    assert ckpt.info == DEMO_INFO
    assert "non-speech" in ckpt.info
    model = load_t2s(path)
    request = DecodeRequest(torch.arange(8), torch.zeros(1024, 8), torch.arange(5), max_new_tokens=20, seed=0)
    assert decode_one(model, request).steps <= 20


# --- bad files: each error names the file and says what is wrong ------------------------------


def _error(path: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_t2s(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_t2s_missing_file(tmp_path: Path) -> None:
    assert "file not found" in _error(tmp_path / "nope.ckpt")


def test_t2s_truncated_file(tiny_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.ckpt"
    data = tiny_path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in _error(path)


def test_t2s_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.ckpt"
    path.write_bytes(b"")
    assert "file is empty" in _error(path)


def test_t2s_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.ckpt"
    path.write_text("these are not weights\n")
    assert "not a torch checkpoint" in _error(path)


def test_t2s_sovits_file_given_as_gpt(conformance_dir: Path) -> None:
    message = _error(conformance_dir / "sovits_tiny.pth")
    assert "SoVITS weights file" in message
    assert "not a GPT .ckpt" in message


def test_t2s_versioned_sovits_header_given_as_gpt(conformance_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "v2pro.pth"
    data = bytearray((conformance_dir / "sovits_tiny.pth").read_bytes())
    data[:2] = b"05"
    path.write_bytes(bytes(data))
    assert "SoVITS v2Pro weights file" in _error(path)


def test_t2s_sovits_plain_config_given_as_gpt(tmp_path: Path) -> None:
    # Released pretrained SoVITS files have a plain-dict config and unprefixed keys.
    path = tmp_path / "s2G.pth"
    torch.save({"weight": {"enc_p.proj.weight": torch.zeros(2)}, "config": {"model": {}}, "info": "x"}, path)
    assert "SoVITS weights file" in _error(path)


def test_t2s_wrong_version(tmp_path: Path) -> None:
    v1 = T2SConfig(phoneme_vocab_size=512, embedding_dim=32, hidden_dim=32, head=2, n_layer=1)
    path = write_t2s_checkpoint(random_t2s(v1), tmp_path / "v1.ckpt")
    message = _error(path)
    assert "wrong version: a v1 GPT checkpoint (phoneme_vocab_size 512), expected v2" in message
    assert read_t2s_checkpoint(path, expect_version="v1").config.version == "v1"


def test_t2s_unknown_version(tmp_path: Path) -> None:
    odd = T2SConfig(phoneme_vocab_size=600, embedding_dim=32, hidden_dim=32, head=2, n_layer=1)
    path = write_t2s_checkpoint(random_t2s(odd), tmp_path / "odd.ckpt")
    assert "unknown version: phoneme_vocab_size 600" in _error(path)


def test_t2s_weights_disagree_with_config(tiny_path: Path, tmp_path: Path, manifest: dict) -> None:
    sizes = manifest["t2s_model_overrides"]
    layers, hidden = sizes["n_layer"], sizes["hidden_dim"]
    data = torch.load(tiny_path, weights_only=True)
    data["config"]["model"]["n_layer"] = layers + 1
    path = tmp_path / "liar.ckpt"
    torch.save(data, path)
    # One more layer than stored: that layer's 12 tensors are missing.
    assert f"missing 12 tensor(s), e.g. model.h.layers.{layers}." in _error(path)

    data["config"]["model"]["n_layer"] = layers
    data["weight"]["model.bert_proj.bias"] = torch.zeros(hidden - 1, dtype=torch.float16)
    torch.save(data, path)
    assert f"model.bert_proj.bias has shape ({hidden - 1},), config implies ({hidden},)" in _error(path)


def test_t2s_invalid_config(tiny_path: Path, tmp_path: Path) -> None:
    data = torch.load(tiny_path, weights_only=True)
    data["config"]["model"]["EOS"] = 5
    path = tmp_path / "eos.ckpt"
    torch.save(data, path)
    assert "EOS 5 must be vocab_size - 1 = 1024" in _error(path)
    del data["config"]["model"]
    torch.save(data, path)
    assert "config has no 'model' section" in _error(path)


def test_t2s_not_a_gpt_dict(tmp_path: Path) -> None:
    path = tmp_path / "list.ckpt"
    torch.save([torch.zeros(1)], path)
    assert "not a GPT checkpoint" in _error(path)


def test_t2s_zip_that_is_not_torch(tmp_path: Path) -> None:
    path = tmp_path / "archive.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "truncated or corrupt" in _error(path)


def test_t2s_directory_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir.ckpt"
    folder.mkdir()
    assert "not a regular file" in _error(folder)


def test_t2s_writer_never_leaves_a_half_file(tiny_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.ckpt"
    shutil.copy(tiny_path, target)
    write_demo_t2s(target)
    assert not (tmp_path / "out.ckpt.tmp").exists()
    assert read_t2s_checkpoint(target).info == DEMO_INFO
