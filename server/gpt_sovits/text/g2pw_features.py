"""G2PW model inputs: a sentence's BERT token ids and one row per polyphonic character asked about.

The official ONNX export takes, for a batch of B queries over a text of T tokens
(``[CLS]`` + tokens + ``[SEP]``):

- ``input_ids``, ``token_type_ids`` (zeros), ``attention_mask`` (ones): int64 ``[B, T]``;
- ``phoneme_mask``: float32 ``[B, L]``, 1 for the labels the queried character may take (all
  ones when the model was trained without masks);
- ``char_ids``: int64 ``[B]``, the queried character's index among the sorted polyphonic chars;
- ``position_ids``: int64 ``[B]``, the queried character's token index (``[CLS]`` is 0);

and returns ``probs``, float ``[B, L]``. Texts longer than 510 tokens are cut to a 510-token window
around each queried character, as the reference does.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gpt_sovits.errors import CheckpointError

MAX_TOKENS = 512
#: Names of the model's inputs, in the official export's order.
INPUT_NAMES = ("input_ids", "token_type_ids", "attention_mask", "phoneme_mask", "char_ids", "position_ids")
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json")


@dataclass(frozen=True)
class Query:
    """One polyphonic character to predict: where it is and what it may be."""

    token: int  # index of its token among the text's tokens (no [CLS])
    char_id: int
    allowed: tuple[int, ...]  # label indices


class CharTokenizer:
    """A BERT tokenizer applied character by character, memoised (G2PW reads Chinese per char)."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        # Fast tokenizers are not safe to call from several threads at once; the memo makes the
        # lock rare after warm-up.
        self._lock = threading.Lock()
        self._memo: dict[str, tuple[int, ...]] = {}
        self.cls_id = int(tokenizer.cls_token_id)
        self.sep_id = int(tokenizer.sep_token_id)
        self.unk_id = int(tokenizer.unk_token_id)

    def char_ids(self, char: str) -> tuple[int, ...]:
        """Token ids of one (lower-cased) character; ``[UNK]`` when it yields none."""
        ids = self._memo.get(char)
        if ids is None:
            with self._lock:
                tokens = self._tokenizer.tokenize(char.lower())
                ids = tuple(int(i) for i in self._tokenizer.convert_tokens_to_ids(tokens)) or (self.unk_id,)
            self._memo[char] = ids
        return ids

    def encode(self, text: str) -> tuple[list[int], list[int]]:
        """Token ids of ``text`` (no specials) and, per character, the index of its first token."""
        ids: list[int] = []
        first: list[int] = []
        for char in text:
            first.append(len(ids))
            ids.extend(self.char_ids(char))
        return ids, first


def load_tokenizer(folder: Path, variable: str) -> CharTokenizer:
    """The BERT tokenizer of a local folder (``vocab.txt`` or ``tokenizer.json``); never downloads."""
    if not folder.is_dir():
        raise CheckpointError(f"G2PW tokenizer folder {folder} does not exist (set {variable})")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise CheckpointError(
            f"G2PW tokenizer folder {folder} has neither {' nor '.join(TOKENIZER_FILES)} (set {variable} "
            "to the chinese-roberta-wwm-ext-large folder)"
        )
    from transformers import BertTokenizer  # the tokenizers-backed (fast) one in transformers 5

    try:
        tokenizer = BertTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"cannot load the G2PW tokenizer from {folder}: {exc}") from exc
    return CharTokenizer(tokenizer)


def _window(n_tokens: int, token: int) -> tuple[int, int]:
    """The token span kept around ``token`` so that the text fits the model (with [CLS]/[SEP])."""
    keep = MAX_TOKENS - 2
    if n_tokens <= keep:
        return 0, n_tokens
    start = min(max(token - keep // 2, 0), n_tokens - keep)
    return start, start + keep


def build_inputs(
    tokenizer: CharTokenizer,
    token_ids: Sequence[int],
    queries: Sequence[Query],
    num_labels: int,
    use_mask: bool,
) -> dict[str, npt.NDArray[Any]]:
    """The model's input arrays for one text and its queries (one batch row per query)."""
    rows: list[list[int]] = []
    positions: list[int] = []
    for query in queries:
        start, end = _window(len(token_ids), query.token)
        rows.append([tokenizer.cls_id, *token_ids[start:end], tokenizer.sep_id])
        positions.append(query.token - start + 1)
    input_ids = np.array(rows, dtype=np.int64)  # rows are equally long: same text, same window size
    mask = np.zeros((len(queries), num_labels), dtype=np.float32)
    for row, query in enumerate(queries):
        if use_mask:
            mask[row, list(query.allowed)] = 1.0
        else:
            mask[row, :] = 1.0
    return {
        "input_ids": input_ids,
        "token_type_ids": np.zeros_like(input_ids),
        "attention_mask": np.ones_like(input_ids),
        "phoneme_mask": mask,
        "char_ids": np.array([q.char_id for q in queries], dtype=np.int64),
        "position_ids": np.array(positions, dtype=np.int64),
    }
