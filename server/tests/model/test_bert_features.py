"""Chinese BERT features with a tiny random BERT and a tiny vocabulary saved by the test."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel

from gpt_sovits.bert import BERT_DIM, BertFeatureExtractor, text_features
from gpt_sovits.errors import CheckpointError, TextError
from gpt_sovits.text.frontend import text_to_phones

_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_CHARS = [*"你好世界今天气很我们是的,.!?…-", "hello"]


def _save_bert(folder: Path, hidden: int, layers: int) -> BertModel:
    vocab = _SPECIAL + _CHARS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    model = BertModel(config).eval()
    model.save_pretrained(folder)
    return model


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BertModel]:
    folder = tmp_path_factory.mktemp("bert")
    return folder, _save_bert(folder, BERT_DIM, 3)


@pytest.fixture(scope="module")
def extractor(tiny_bert: tuple[Path, BertModel]) -> BertFeatureExtractor:
    return BertFeatureExtractor.from_folder(tiny_bert[0])


def test_bert_chars_are_the_third_to_last_hidden_state(
    tiny_bert: tuple[Path, BertModel], extractor: BertFeatureExtractor
) -> None:
    _, model = tiny_bert
    text = "你好,世界."
    rows = extractor.char_features(text)
    assert rows.shape == (len(text), BERT_DIM)
    ids = [2, *[5 + _CHARS.index(c) for c in text], 3]  # [CLS] chars [SEP]
    with torch.no_grad():
        hidden = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
    # 3 layers: hidden_states has 4 entries; [-3] is the output of layer 1.
    torch.testing.assert_close(rows, hidden[1][0, 1:-1], rtol=1e-5, atol=1e-5)


def test_bert_rows_repeat_per_phone(extractor: BertFeatureExtractor) -> None:
    text = "你好."
    word2ph = (2, 3, 1)
    features = extractor.phone_features(text, word2ph)
    rows = extractor.char_features(text)
    assert features.shape == (BERT_DIM, 6)
    torch.testing.assert_close(features[:, 0], rows[0])
    torch.testing.assert_close(features[:, 1], rows[0])
    torch.testing.assert_close(features[:, 2:5], rows[1].unsqueeze(1).expand(-1, 3))
    torch.testing.assert_close(features[:, 5], rows[2])


def test_bert_unknown_characters_stay_one_token_each(extractor: BertFeatureExtractor) -> None:
    # 猫 and 狗 are not in the vocabulary: each becomes one [UNK], so word2ph still lines up.
    assert extractor.phone_features("猫狗你", (2, 2, 2)).shape == (BERT_DIM, 6)


def test_bert_word2ph_length_must_match(extractor: BertFeatureExtractor) -> None:
    with pytest.raises(TextError, match="word2ph has 2 entries for 3 characters"):
        extractor.phone_features("你好.", (2, 2))


def test_bert_text_features_zero_outside_chinese(extractor: BertFeatureExtractor) -> None:
    result = text_to_phones("你好世界, hello world.", "zh")
    languages = [part.language for part in result.parts]
    assert "zh" in languages
    assert "en" in languages
    features = text_features(result, extractor)
    assert features.shape == (BERT_DIM, len(result.phone_ids))
    start = 0
    for part in result.parts:
        block = features[:, start : start + len(part.phone_ids)]
        if part.language == "zh":
            assert block.abs().sum() > 0
        else:
            assert torch.count_nonzero(block) == 0
        start += len(part.phone_ids)


def test_bert_text_features_without_model_are_zeros() -> None:
    result = text_to_phones("你好世界。", "zh")
    features = text_features(result, None)
    assert features.shape == (BERT_DIM, len(result.phone_ids))
    assert torch.count_nonzero(features) == 0


def test_bert_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"chinese-roberta: BERT model folder not found"):
        BertFeatureExtractor.from_folder(tmp_path / "chinese-roberta")


def test_bert_folder_without_vocab_is_named(tmp_path: Path, tiny_bert: tuple[Path, BertModel]) -> None:
    (tmp_path / "config.json").write_text((tiny_bert[0] / "config.json").read_text())
    with pytest.raises(CheckpointError, match=r"has no vocab\.txt"):
        BertFeatureExtractor.from_folder(tmp_path)


def test_bert_folder_without_weights_is_named(tmp_path: Path, tiny_bert: tuple[Path, BertModel]) -> None:
    for name in ("config.json", "vocab.txt"):
        (tmp_path / name).write_text((tiny_bert[0] / name).read_text())
    with pytest.raises(CheckpointError, match=r"cannot load the BERT model"):
        BertFeatureExtractor.from_folder(tmp_path)


def test_bert_of_the_wrong_width_is_refused(tmp_path: Path) -> None:
    _save_bert(tmp_path, 32, 2)
    with pytest.raises(CheckpointError, match=r"hidden size is 32, the GPT reads 1024"):
        BertFeatureExtractor.from_folder(tmp_path)
