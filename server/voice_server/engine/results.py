"""What the engine's stages hand each other and the synthesis layer: one sentence's results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpt_sovits.pipeline import SemanticSentence


@dataclass(frozen=True)
class Semantic:
    """The GPT stage's result for one sentence, with the size of the batch it decoded in."""

    sentence: SemanticSentence
    batch_size: int


@dataclass(frozen=True)
class SentenceAudio:
    """One synthesised sentence, or the next chunk of a sentence streamed in token chunks.

    ``final``: the sentence's audio ends here (always, unless streamed in chunks).
    """

    wave: np.ndarray
    batch_size: int
    final: bool = True
