"""G2PW inference end to end on a tiny ONNX model with the official inputs and output.

The model scores labels from the queried character's token (``input_ids[b, position_ids[b]]``)
plus the token after it, masked by ``phoneme_mask``; so a wrong tokenisation, position or mask
changes the readings. Its choices are deliberately different from pypinyin's, to show which
source the frontend used.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from gpt_sovits.errors import CheckpointError
from gpt_sovits.text import g2pw
from gpt_sovits.text.frontend import TextFrontend, clean_text
from gpt_sovits.text.g2pw_features import INPUT_NAMES, Query, build_inputs, load_tokenizer
from gpt_sovits.text.g2pw_model import G2PWSession
from gpt_sovits.text.g2pw_reader import G2PWReader
from gpt_sovits.text.g2pw_tables import load_tables
from gpt_sovits.text.settings import TextSettings

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"银行长重还一走很我们去的有要李你好绿長"]
POLYPHONIC = [
    ("行", "ㄒㄧㄥ2"),
    ("行", "ㄏㄤ2"),
    ("长", "ㄔㄤ2"),
    ("长", "ㄓㄤ3"),
    ("重", "ㄓㄨㄥ4"),
    ("重", "ㄔㄨㄥ2"),
    ("还", "ㄏㄞ2"),
    ("还", "ㄏㄨㄢ2"),
    ("一", "ㄧ1"),  # listed, but the reference converter never asks the model about 一
    ("一", "ㄧ4"),
]
MONOPHONIC = [("你", "ㄋㄧ3"), ("好", "ㄏㄠ3"), ("绿", "ㄌㄩ4"), ("我", "ㄏㄠ3")]
SPELLINGS = {
    "ㄒㄧㄥ": "xing",
    "ㄏㄤ": "hang",
    "ㄔㄤ": "chang",
    "ㄓㄤ": "zhang",
    "ㄓㄨㄥ": "zhong",
    "ㄔㄨㄥ": "chong",
    "ㄏㄞ": "hai",
    "ㄏㄨㄢ": "huan",
    "ㄧ": "yi",
    "ㄋㄧ": "ni",
    "ㄏㄠ": "hao",
    "ㄌㄩ": "lü",
}
LABELS = sorted({reading for _, reading in POLYPHONIC})
# The tiny model's choices: the queried character's own preference, and a bonus for 行's
# "hang2" when it ends its run (the next token is [SEP]).
CHOICES = {"行": "ㄒㄧㄥ2", "长": "ㄔㄤ2", "重": "ㄔㄨㄥ2", "还": "ㄏㄨㄢ2", "一": "ㄧ4"}


def _tiny_model(path: Path, *, input_names: tuple[str, ...] = INPUT_NAMES, labels: int = 0) -> None:
    num_labels = labels or len(LABELS)
    own = np.zeros((len(VOCAB), num_labels), dtype=np.float32)
    for char, reading in CHOICES.items():
        own[VOCAB.index(char), LABELS.index(reading) % num_labels] = 2.0
    nxt = np.zeros((len(VOCAB), num_labels), dtype=np.float32)
    nxt[VOCAB.index("[SEP]"), LABELS.index("ㄏㄤ2") % num_labels] = 5.0
    shapes: dict[str, tuple[str | int, ...]] = {
        "input_ids": ("batch", "tokens"),
        "token_type_ids": ("batch", "tokens"),
        "attention_mask": ("batch", "tokens"),
        "phoneme_mask": ("batch", num_labels),
        "char_ids": ("batch",),
        "position_ids": ("batch",),
    }
    inputs = [
        helper.make_tensor_value_info(
            name,
            TensorProto.FLOAT if name == "phoneme_mask" else TensorProto.INT64,
            shape,
        )
        for name, shape in shapes.items()
        if name in input_names
    ]
    nodes = [
        helper.make_node("Unsqueeze", ["position_ids", "axis1"], ["at"]),
        helper.make_node("Add", ["at", "one"], ["after"]),
        helper.make_node("GatherElements", ["input_ids", "at"], ["tok2"], axis=1),
        helper.make_node("GatherElements", ["input_ids", "after"], ["next2"], axis=1),
        helper.make_node("Squeeze", ["tok2", "axis1"], ["tok"]),
        helper.make_node("Squeeze", ["next2", "axis1"], ["next"]),
        helper.make_node("Gather", ["own", "tok"], ["s_own"], axis=0),
        helper.make_node("Gather", ["nxt", "next"], ["s_next"], axis=0),
        helper.make_node("Add", ["s_own", "s_next"], ["s"]),
        helper.make_node("Add", ["s", "fone"], ["s1"]),
        helper.make_node("Mul", ["s1", "phoneme_mask"], ["probs"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_g2pw",
        inputs,
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ("batch", num_labels))],
        initializer=[
            helper.make_tensor("axis1", TensorProto.INT64, [1], [1]),
            helper.make_tensor("one", TensorProto.INT64, [], [1]),
            helper.make_tensor("fone", TensorProto.FLOAT, [], [1.0]),
            helper.make_tensor("own", TensorProto.FLOAT, own.shape, own.flatten().tolist()),
            helper.make_tensor("nxt", TensorProto.FLOAT, nxt.shape, nxt.flatten().tolist()),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _write_folder(folder: Path, *, tokenizer_inside: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _tiny_model(folder / "g2pW.onnx")
    (folder / "POLYPHONIC_CHARS.txt").write_text("".join(f"{c}\t{r}\n" for c, r in POLYPHONIC), "utf-8")
    (folder / "MONOPHONIC_CHARS.txt").write_text("".join(f"{c}\t{r}\n" for c, r in MONOPHONIC), "utf-8")
    (folder / "bopomofo_to_pinyin_wo_tune_dict.json").write_text(json.dumps(SPELLINGS), "utf-8")
    (folder / "config.py").write_text("use_mask = True\nuse_char_phoneme = False\n", "utf-8")
    if tokenizer_inside:
        (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", "utf-8")
    return folder


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    return _write_folder(tmp_path / "G2PWModel")


@pytest.fixture
def configured(model_folder: Path) -> TextFrontend:
    """A frontend whose settings name the G2PW folder, as a deployment's would."""
    return TextFrontend(TextSettings(g2pw_model_dir=model_folder))


def _phones(text: str, frontend: TextFrontend) -> list[str]:
    return list(frontend.clean_text(text, "zh").phones)  # one zh run, no short-text retry


def test_configured_frontend_reads_polyphones_from_the_model(configured: TextFrontend) -> None:
    # pypinyin: 很长 → zhang3, 重要 → zhong4, 还有 → hai2; the model says otherwise.
    assert _phones("很长。", configured) == ["h", "en3", "ch", "ang2", "."]
    assert _phones("重要的。", configured) == ["ch", "ong2", "y", "ao4", "d", "e5", "."]
    assert _phones("还有你。", configured)[:2] == ["h", "uan2"]
    # Context: 行 at the end of its run takes the [SEP] bonus, before 走 it does not.
    assert list(configured.text_to_phones("我们去银行。", "zh").phones)[-3:] == ["h", "ang2", "."]
    assert _phones("行走很长。", configured)[:2] == ["x", "ing2"]


def test_configured_frontend_keeps_monophonic_readings(configured: TextFrontend) -> None:
    with_g2pw = configured.text_to_phones("我们去银行，很好。", "zh").parts[0]
    without = clean_text("我们去银行，很好。", "zh", reader=_pypinyin_reader)
    # Only 我 (whose test dictionary reading is hao3) differs among the non-polyphonic characters.
    differing = [i for i, (a, b) in enumerate(zip(with_g2pw.phones, without.phones, strict=True)) if a != b]
    assert [with_g2pw.phones[i] for i in differing] == ["h", "ao3"]
    assert with_g2pw.word2ph == without.word2ph


def _pypinyin_reader(sentence: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return list(lazy_pinyin(sentence, style=Style.TONE3, neutral_tone_with_five=True))


def test_unconfigured_frontend_is_unchanged() -> None:
    frontend = TextFrontend(TextSettings())
    assert frontend.zh_reader() is None
    assert _phones("很长。", frontend) == ["h", "en2", "zh", "ang3", "."]  # zhang3, so 很 sandhi to hen2
    assert _phones("重要的。", frontend)[:2] == ["zh", "ong4"]


def test_configured_reader_is_loaded_once(configured: TextFrontend) -> None:
    assert configured.zh_reader() is configured.zh_reader() is not None


def test_reader_details(model_folder: Path) -> None:
    reader = g2pw.load_reader(model_folder)
    assert reader("你好,") == ["ni3", "hao3", ","]
    assert reader("绿") == ["lv4"]  # ü spelled v, as pypinyin does
    assert reader("一行") == ["yi1", "hang2"]  # 一 comes from pypinyin, never from the model
    assert reader("很") == ["hen3"]  # in neither dictionary: pypinyin


def test_one_session_run_per_chinese_run(model_folder: Path) -> None:
    calls: list[dict[str, Any]] = []

    class CountingSession(G2PWSession):
        def predict(self, inputs: dict[str, Any]) -> Any:
            calls.append(inputs)
            return super().predict(inputs)

    tables = load_tables(model_folder)
    session = CountingSession(model_folder / "g2pW.onnx", len(tables.labels))
    reader = G2PWReader(tables, load_tokenizer(model_folder, "X"), session)
    assert reader("重长还行") == ["chong2", "chang2", "huan2", "hang2"]
    assert len(calls) == 1
    batch = calls[0]
    assert batch["input_ids"].shape == (4, 6)  # [CLS] + 4 chars + [SEP], one row per polyphone
    assert batch["position_ids"].tolist() == [1, 2, 3, 4]
    assert reader("你好") == ["ni3", "hao3"]
    assert len(calls) == 1


def test_session_is_shared_across_threads(model_folder: Path) -> None:
    reader = g2pw.load_reader(model_folder)
    results: list[list[str]] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(20):
            out = reader("重长还行")
            with lock:
                results.append(out)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [["chong2", "chang2", "huan2", "hang2"]] * 80


def test_model_inputs_follow_the_official_layout(model_folder: Path) -> None:
    tables = load_tables(model_folder)
    tokenizer = load_tokenizer(model_folder, "X")
    ids, first = tokenizer.encode("很长Z")
    assert ids == [VOCAB.index("很"), VOCAB.index("长"), VOCAB.index("[UNK]")]
    query = Query(first[1], tables.char_ids["长"], tables.char_labels["长"])
    inputs = build_inputs(tokenizer, ids, [query], len(tables.labels), use_mask=True)
    assert list(inputs) == list(INPUT_NAMES)
    assert inputs["input_ids"].tolist() == [[2, *ids, 3]]
    assert inputs["token_type_ids"].tolist() == [[0] * 5]
    assert inputs["attention_mask"].tolist() == [[1] * 5]
    assert inputs["position_ids"].tolist() == [2]
    # Sorted polyphonic chars: 一 一 长 行 还 重 → 长 is the second distinct one.
    assert inputs["char_ids"].tolist() == [sorted({c for c, _ in POLYPHONIC}).index("长")]
    allowed = [LABELS.index("ㄔㄤ2"), LABELS.index("ㄓㄤ3")]
    assert np.flatnonzero(inputs["phoneme_mask"][0]).tolist() == sorted(allowed)
    assert inputs["phoneme_mask"].dtype == np.float32
    assert inputs["input_ids"].dtype == np.int64
    unmasked = build_inputs(tokenizer, ids, [query], len(tables.labels), use_mask=False)
    assert unmasked["phoneme_mask"].tolist() == [[1.0] * len(LABELS)]


def test_long_text_is_windowed_around_the_query(model_folder: Path) -> None:
    tokenizer = load_tokenizer(model_folder, "X")
    ids = list(range(5, 5 + 600))
    inputs = build_inputs(tokenizer, ids, [Query(550, 0, (0,)), Query(3, 0, (0,))], 4, use_mask=True)
    assert inputs["input_ids"].shape == (2, 512)
    # Query at 550: window [90, 600); at 3: window [0, 510).
    assert inputs["position_ids"].tolist() == [550 - 90 + 1, 4]
    assert inputs["input_ids"][0, 550 - 90 + 1] == ids[550]
    assert inputs["input_ids"][1, 4] == ids[3]


def test_word_table_and_traditional_conversion(model_folder: Path) -> None:
    (model_folder / "polyphonic.rep").write_text("银行: ['yin2', 'xing2']\n还有: ['hai2', 'you3']\n", "utf-8")
    (model_folder / "polyphonic-fix.rep").write_text(
        "还有: ['hai2', 'you5']\n重: ['zhong4', 'chong2']\n", "utf-8"
    )
    reader = g2pw.load_reader(model_folder)
    assert reader("重长") == ["zhong4", "chang2"]  # a character entry: its first reading
    assert reader("我们去银行") == ["hao3", "men5", "qu4", "yin2", "xing2"]  # word entry wins
    assert reader("还有") == ["hai2", "you5"]  # a whole run in the table; the fix file overrides
    # 長 is the model's (traditional) character; without a table 长 is asked as itself.
    poly = (model_folder / "POLYPHONIC_CHARS.txt").read_text("utf-8").replace("长", "長")
    (model_folder / "POLYPHONIC_CHARS.txt").write_text(poly, "utf-8")
    assert g2pw.load_reader(model_folder)("很长") == ["hen3", "zhang3"]  # pypinyin: 長 never asked
    (model_folder / "STCharacters.txt").write_text("长\t長 长\n", "utf-8")
    # Converted, 长 is asked as 長 (whose token the tiny model does not prefer: first label).
    assert g2pw.load_reader(model_folder)("很长") == ["hen3", "chang2"]


def test_missing_onnx_file_is_named(model_folder: Path) -> None:
    (model_folder / "g2pW.onnx").unlink()
    with pytest.raises(CheckpointError, match=r"lacks g2pW\.onnx"):
        g2pw.load_reader(model_folder)


def test_corrupt_onnx_file_is_named(model_folder: Path) -> None:
    (model_folder / "g2pW.onnx").write_bytes(b"not a model at all")
    with pytest.raises(CheckpointError, match=r"g2pW\.onnx is not a loadable ONNX model"):
        g2pw.load_reader(model_folder)


def test_model_without_the_official_inputs_is_refused(model_folder: Path) -> None:
    _tiny_model(
        model_folder / "g2pW.onnx", input_names=tuple(n for n in INPUT_NAMES if n != "token_type_ids")
    )
    # The tiny graph does not read token_type_ids, so it stays a valid model without it.
    with pytest.raises(CheckpointError, match="lacks the inputs token_type_ids"):
        g2pw.load_reader(model_folder)


def test_model_with_other_labels_is_refused(model_folder: Path) -> None:
    _tiny_model(model_folder / "g2pW.onnx", labels=3)
    with pytest.raises(
        CheckpointError, match=rf"scores 3 labels, but POLYPHONIC_CHARS\.txt lists {len(LABELS)}"
    ):
        g2pw.load_reader(model_folder)


def test_missing_tokenizer_names_the_setting(tmp_path: Path) -> None:
    folder = _write_folder(tmp_path / "m", tokenizer_inside=False)
    with pytest.raises(CheckpointError, match="g2pw_tokenizer_dir"):
        g2pw.load_reader(folder)
    with pytest.raises(CheckpointError, match=r"vocab\.txt"):
        g2pw.load_reader(folder, tmp_path / "m")
    tokenizer = tmp_path / "roberta"
    tokenizer.mkdir()
    (tokenizer / "vocab.txt").write_text("\n".join(VOCAB) + "\n", "utf-8")
    assert g2pw.load_reader(folder, tokenizer)("很长") == ["hen3", "chang2"]


def test_malformed_dictionary_line_is_named(model_folder: Path) -> None:
    (model_folder / "MONOPHONIC_CHARS.txt").write_text("你 ni3\n", "utf-8")
    with pytest.raises(CheckpointError, match=r"MONOPHONIC_CHARS\.txt line 1"):
        g2pw.load_reader(model_folder)


def test_configured_but_broken_folder_fails_loudly(tmp_path: Path) -> None:
    settings = TextSettings(g2pw_model_dir=tmp_path / "absent")
    with pytest.raises(CheckpointError, match=r"does not exist \(g2pw_model_dir\)"):
        settings.check()
    with pytest.raises(CheckpointError, match="does not exist"):
        TextFrontend(settings).text_to_phones("很长。", "zh")


def test_label_without_spelling_falls_back_to_pypinyin(model_folder: Path) -> None:
    spellings = {k: v for k, v in SPELLINGS.items() if k != "ㄏㄨㄢ"}
    (model_folder / "bopomofo_to_pinyin_wo_tune_dict.json").write_text(json.dumps(spellings), "utf-8")
    # The model still chooses huan2 for 还, which now has no spelling: pypinyin's 还 (hai2).
    assert g2pw.load_reader(model_folder)("还长") == ["hai2", "chang2"]
