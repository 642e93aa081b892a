"""Token-chunk streaming of one sentence: its ids from the GPT stage to the stream, and its SoVITS state.

A :class:`TokenFeed` is the sentence's :class:`~gpt_sovits.t2s.decode.TokenSink`. The decoding
thread pushes each id; the feed's chunker says when a chunk is complete, and only then is the
event loop woken (one wake-up per chunk, never per id). The cuts are kept in order, so the stream
decodes every chunk the rule made, however far SoVITS lags: which prefixes are decoded, hence the
audio, depends on the ids alone, never on timing (a fixed seed gives the same stream every time).

A :class:`ChunkJob` asks the SoVITS stage for a sentence's new audio; the sentence's
:class:`StreamedSentence` holds its decoder, built on the stage's worker at its first chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace

import torch

from gpt_sovits.pipeline import PreparedSentence, Synthesizer
from gpt_sovits.sovits.chunked import ChunkedDecoder
from gpt_sovits.t2s.chunking import ChunkRule, TokenChunker


@dataclass(frozen=True)
class TokenChunking:
    """How streamed sentences are cut (``rule``) and how many ids each seam cross-fades."""

    rule: ChunkRule
    overlap_tokens: int = 2

    def rule_for(self, sentence: int) -> ChunkRule:
        """The rule of a stream's ``sentence`` (0: its first): only the stream's very first chunk
        may be shorter; a later sentence's first audio plays after the audio before it, so a short
        cut there would only add a SoVITS call."""
        return self.rule if sentence == 0 else replace(self.rule, first_tokens=None)


class TokenFeed:
    """One sentence's ids as its GPT row decodes them, cut into chunks (create it on the event loop).

    ``ids`` and ``cuts`` only grow while the row decodes (appended on the decoding thread);
    :meth:`restart` empties them, which the GPT stage does only while the row is not decoding.
    """

    def __init__(self, chunker: TokenChunker, loop: asyncio.AbstractEventLoop) -> None:
        self._chunker = chunker
        self._loop = loop
        self._woken = asyncio.Event()
        #: The row's ids so far.
        self.ids: list[int] = []
        #: Every chunk's end, in ids from the sentence's first, in order.
        self.cuts: list[int] = []

    def push(self, token: int) -> None:
        """The row's next id (decoding thread)."""
        self.ids.append(token)
        cut = self._chunker.push(token)
        if cut is None:
            return
        self.cuts.append(cut)
        # A closed loop raises: then nobody waits for this stream any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._woken.set)

    def restart(self) -> bool:
        """Forget the ids (the row is decoded again); False once a chunk has been cut."""
        if self.cuts:
            return False
        self.ids.clear()
        self._chunker.restart()
        return True

    async def wait(self) -> None:
        """Until a chunk has been cut since the last wait."""
        await self._woken.wait()
        self._woken.clear()

    def chunk(self, index: int) -> torch.Tensor:
        """The ids up to cut ``index`` (the sentence so far when that chunk completed)."""
        return torch.tensor(self.ids[: self.cuts[index]], dtype=torch.long)


@dataclass
class StreamedSentence:
    """A sentence streamed in token chunks: what SoVITS needs of it, and its decoder once built."""

    prepared: PreparedSentence
    overlap_tokens: int
    decoder: ChunkedDecoder | None = field(default=None, repr=False)

    def decoder_for(self, synthesizer: Synthesizer) -> ChunkedDecoder:
        """The sentence's decoder, built at the first call (on the SoVITS worker)."""
        if self.decoder is None:
            self.decoder = synthesizer.chunked_decoder(self.prepared, self.overlap_tokens)
        return self.decoder


@dataclass(frozen=True)
class ChunkJob:
    """For the SoVITS stage: a streamed sentence's ids so far; decode what is new (the rest when
    ``final``). ``batch_size`` is the GPT batch the sentence decoded in, once known (0 before)."""

    sentence: StreamedSentence
    tokens: torch.Tensor
    final: bool
    batch_size: int = 0
