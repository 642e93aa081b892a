"""Chinese BERT features for the GPT: one 1024-wide vector per phone (zeros outside Chinese).

The v2 models were trained on the third-to-last hidden state of chinese-roberta-wwm-ext-large
(``hidden_states[-3]``, index 0 being the embeddings), one token per normalised character,
with [CLS]/[SEP] dropped and each character's vector repeated once per phone it produced
(``word2ph``). Runs in other languages get zeros of the same width.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gpt_sovits.errors import CheckpointError, TextError
from gpt_sovits.text.frontend import FrontendResult

#: Width of the features the GPT's ``bert_proj`` reads.
BERT_DIM = 1024
# hidden_states[-3]: the output of the third-to-last layer.
_HIDDEN_INDEX = -3


class BertFeatureExtractor:
    """A Hugging Face BERT and its tokenizer, loaded offline from a local folder."""

    def __init__(self, model: torch.nn.Module, tokenizer: object) -> None:
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        # Called on every zh run; resolved once.
        self._param = next(self.model.parameters())

    @classmethod
    def from_folder(
        cls, folder: Path | str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ) -> BertFeatureExtractor:
        """Load model + tokenizer (``config.json``, weights, ``vocab.txt``); never downloads.

        Raises :class:`CheckpointError` naming the folder when it is missing or unusable.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise CheckpointError(f"{folder}: BERT model folder not found")
        for required in ("config.json", "vocab.txt"):
            if not (folder / required).is_file():
                raise CheckpointError(f"{folder}: BERT model folder has no {required}")
        # Imported here: transformers is heavy and only the loaders need it.
        from transformers import AutoModel, BertTokenizer

        try:
            tokenizer = BertTokenizer.from_pretrained(str(folder), local_files_only=True)
            model = AutoModel.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{folder}: cannot load the BERT model ({exc})") from exc
        hidden = int(model.config.hidden_size)
        layers = int(model.config.num_hidden_layers)
        if hidden != BERT_DIM:
            raise CheckpointError(f"{folder}: BERT hidden size is {hidden}, the GPT reads {BERT_DIM}")
        if layers < -_HIDDEN_INDEX - 1:
            raise CheckpointError(f"{folder}: BERT has {layers} layer(s); at least 2 are needed")
        module: torch.nn.Module = model
        return cls(module.to(device=device, dtype=dtype), tokenizer)

    @property
    def device(self) -> torch.device:
        """The model's device."""
        return self._param.device

    def char_features(self, norm_text: str) -> torch.Tensor:
        """One vector per character of ``norm_text``: ``[len(norm_text), 1024]`` (float32)."""
        encoded = self.tokenizer(norm_text, return_tensors="pt")  # type: ignore[operator]
        inputs = {k: v.to(self.device) for k, v in encoded.items()}
        with torch.inference_mode():
            hidden = self.model(**inputs, output_hidden_states=True).hidden_states[_HIDDEN_INDEX]
        rows: torch.Tensor = hidden[0, 1:-1].float()
        if rows.shape[0] != len(norm_text):
            # Each normalised character must be one token, or word2ph cannot be applied.
            raise TextError(
                f"BERT tokenised {norm_text[:40]!r} into {rows.shape[0]} tokens "
                f"for {len(norm_text)} characters"
            )
        return rows

    def phone_features(self, norm_text: str, word2ph: tuple[int, ...] | list[int]) -> torch.Tensor:
        """Per-phone features ``[1024, sum(word2ph)]``: character vectors repeated ``word2ph`` times."""
        if len(word2ph) != len(norm_text):
            raise TextError(f"word2ph has {len(word2ph)} entries for {len(norm_text)} characters")
        rows = self.char_features(norm_text)
        counts = torch.tensor(list(word2ph), device=rows.device)
        return rows.repeat_interleave(counts, dim=0).T.contiguous()


def text_features(result: FrontendResult, extractor: BertFeatureExtractor | None) -> torch.Tensor:
    """Features ``[1024, n_phones]`` (float32, CPU) of a frontend result, run by run.

    Chinese runs use ``extractor``; other runs, and every run when no extractor is loaded
    (e.g. demo weights), get zeros.
    """
    parts: list[torch.Tensor] = []
    for part in result.parts:
        n = len(part.phone_ids)
        if extractor is not None and part.language == "zh" and part.word2ph is not None:
            parts.append(extractor.phone_features(part.norm_text, part.word2ph).cpu())
        else:
            parts.append(torch.zeros(BERT_DIM, n))
    if not parts:
        return torch.zeros(BERT_DIM, 0)
    return torch.cat(parts, dim=1)
