"""Where a decoding sentence's semantic ids are cut into stream chunks (api_v2 streaming modes 2 and 3).

A :class:`TokenChunker` hears one row's ids as they are sampled and says when a chunk is complete:

- ``fixed`` (api_v2 mode 3): every ``min_tokens`` ids.
- ``silence`` (api_v2 mode 2): once more than ``min_tokens`` ids are pending, at the first point
  between two silence-like ids: ids whose audio embedding is closer to the mute id's (486) than
  :data:`SILENCE_THRESHOLD` in cosine similarity. Two in a row (upstream's pair scoring) so that a
  single stray id does not cut; the seam then falls inside a pause. Without such a pair the
  sentence's ids stay one chunk, as upstream's.

The first chunk may have its own length, ``first_tokens`` (in place of ``min_tokens`` for the
first cut only): a shorter first chunk sends a stream's first audio sooner, since the GPT row
needs fewer steps and SoVITS decodes fewer frames before it. The last chunk of a sentence is
whatever is pending when its decode ends; the chunker does not know when that is (the caller does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from gpt_sovits.t2s.model import Text2SemanticDecoder

#: The semantic id of silence in the released v1/v2 GPT models (upstream's "mute" token).
MUTE_TOKEN = 486
#: Cosine similarity to the mute id's embedding above which an id counts as silence-like.
SILENCE_THRESHOLD = 0.0

ChunkKind = Literal["fixed", "silence"]


@dataclass(frozen=True)
class ChunkRule:
    """How a streamed sentence's ids are cut: ``kind``, the shortest chunk in ids, and the
    shortest first chunk (None: ``min_tokens``)."""

    kind: ChunkKind = "fixed"
    min_tokens: int = 16
    first_tokens: int | None = None

    def __post_init__(self) -> None:
        """Reject rules that could never cut, naming the field."""
        if self.min_tokens < 1:
            raise ValueError(f"min_tokens must be >= 1, got {self.min_tokens}")
        if self.first_tokens is not None and self.first_tokens < 1:
            raise ValueError(f"first_tokens must be >= 1, got {self.first_tokens}")

    def shortest(self, first: bool) -> int:
        """The fewest ids of the first chunk (``first``) or of any later one."""
        if first and self.first_tokens is not None:
            return self.first_tokens
        return self.min_tokens


@torch.inference_mode()
def silence_like(model: Text2SemanticDecoder) -> tuple[bool, ...]:
    """Per semantic id: is its audio embedding silence-like (see the module docstring)?"""
    table = model.ar_audio_embedding.word_embeddings.weight.float()
    if table.shape[0] <= MUTE_TOKEN:
        # A model without the mute id: nothing is silence-like, the "silence" rule never cuts.
        return (False,) * table.shape[0]
    similarity = torch.nn.functional.cosine_similarity(table, table[MUTE_TOKEN].unsqueeze(0), dim=1)
    return tuple(bool(v) for v in (similarity > SILENCE_THRESHOLD).tolist())


class TokenChunker:
    """Cuts one row's ids into chunks as they arrive (``silence`` needs :func:`silence_like`'s table).

    Not thread-safe: one decoding thread pushes, and :meth:`restart` is called only while the row
    is not decoding.
    """

    def __init__(self, rule: ChunkRule, silence: tuple[bool, ...] = ()) -> None:
        if rule.kind == "silence" and not silence:
            raise ValueError("the silence rule needs the model's table of silence-like ids")
        self.rule = rule
        self._silence = silence
        self._count = 0  # ids heard
        self._cut = 0  # ids in complete chunks
        self._previous: int | None = None

    @property
    def count(self) -> int:
        """Ids heard so far."""
        return self._count

    @property
    def cut(self) -> int:
        """Ids in the chunks completed so far."""
        return self._cut

    def push(self, token: int) -> int | None:
        """Hear the next id; the new cut when it completes a chunk, else None.

        A cut is the number of ids in all complete chunks, counted from the sentence's first id.
        """
        previous, self._previous = self._previous, token
        self._count += 1
        pending = self._count - self._cut
        shortest = self.rule.shortest(first=self._cut == 0)
        if self.rule.kind == "fixed":
            if pending < shortest:
                return None
            self._cut = self._count
            return self._cut
        # Cut between the two silence-like ids, keeping at least the shortest chunk's ids before it.
        if pending <= shortest or previous is None:
            return None
        if not (self._is_silent(previous) and self._is_silent(token)):
            return None
        self._cut = self._count - 1
        return self._cut

    def restart(self) -> None:
        """Forget every id: the row is decoded again from its first one."""
        self._count = 0
        self._cut = 0
        self._previous = None

    def _is_silent(self, token: int) -> bool:
        return 0 <= token < len(self._silence) and self._silence[token]
