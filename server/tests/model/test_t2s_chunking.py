"""Partial ids of a decoding row: sinks hear every kept id without changing a row's result, and the
chunk rules of api_v2's streaming modes 2 and 3 cut where they should."""

from __future__ import annotations

import pytest

from gpt_sovits.t2s.chunking import MUTE_TOKEN, ChunkRule, TokenChunker, silence_like
from gpt_sovits.t2s.decode import DecodeRequest, SamplingParams, decode_batch
from gpt_sovits.t2s.model import Text2SemanticDecoder
from gpt_sovits.t2s.slots import DecodeSlots


class RecordingSink:
    """Keeps what it hears; ``restart`` succeeds until the sink is told to refuse."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.restarts = 0

    def push(self, token: int) -> None:
        self.ids.append(token)

    def restart(self) -> bool:
        self.restarts += 1
        self.ids.clear()
        return True


def _requests(golden: dict, sinks: list[RecordingSink | None]) -> list[DecodeRequest]:
    phones, bert, prompt = golden["phones"][0], golden["bert_rand"][0], golden["prompt_semantic"][0]
    sampled = SamplingParams(top_k=15, top_p=0.9, temperature=0.8, repetition_penalty=1.35)
    shapes = [(None, None, 40), (20, 7, 33), (9, 0, 25)]
    return [
        DecodeRequest(phones[:n], bert[:, :n], prompt[:p], sampled, max_new_tokens=m, seed=20 + i, sink=sink)
        for i, ((n, p, m), sink) in enumerate(zip(shapes, sinks, strict=True))
    ]


def test_t2s_static_sinks_hear_the_kept_ids_and_change_nothing(
    tiny: Text2SemanticDecoder, golden: dict
) -> None:
    sinks = [RecordingSink(), None, RecordingSink()]
    plain = decode_batch(tiny, _requests(golden, [None, None, None]))
    heard = decode_batch(tiny, _requests(golden, sinks))
    for alone, listened in zip(plain, heard, strict=True):
        assert listened.tokens.tolist() == alone.tokens.tolist()
    assert [sink.ids for sink in sinks if sink] == [heard[0].tokens.tolist(), heard[2].tokens.tolist()]


def test_t2s_slot_sinks_hear_the_kept_ids_and_change_nothing(
    tiny: Text2SemanticDecoder, golden: dict
) -> None:
    sinks = [RecordingSink(), RecordingSink(), None]
    plain = decode_batch(tiny, _requests(golden, [None, None, None]))
    slots = DecodeSlots(tiny, max_rows=4)
    requests = _requests(golden, sinks)
    slots.admit([(0, requests[0]), (2, requests[2])])
    finished = {done.key: done.result for done in slots.step()}
    seen_after_one_step = list(sinks[0].ids)
    slots.admit([(1, requests[1])])  # joins a running decode
    while slots.rows:
        finished.update((done.key, done.result) for done in slots.step())
    assert seen_after_one_step == plain[0].tokens.tolist()[:1]
    for key, alone in enumerate(plain):
        assert finished[key].tokens.tolist() == alone.tokens.tolist()
    assert sinks[0].ids == plain[0].tokens.tolist()
    assert sinks[1].ids == plain[1].tokens.tolist()


def test_t2s_fixed_rule_cuts_every_min_tokens() -> None:
    chunker = TokenChunker(ChunkRule("fixed", min_tokens=4))
    cuts = [chunker.push(token) for token in range(11)]
    assert [c for c in cuts if c is not None] == [4, 8]
    assert cuts[3] == 4
    assert cuts[7] == 8
    assert (chunker.count, chunker.cut) == (11, 8)
    chunker.restart()
    assert (chunker.count, chunker.cut) == (0, 0)


def test_t2s_fixed_rule_cuts_the_first_chunk_at_first_tokens_then_every_min_tokens() -> None:
    chunker = TokenChunker(ChunkRule("fixed", min_tokens=5, first_tokens=2))
    assert [c for c in (chunker.push(token) for token in range(13)) if c is not None] == [2, 7, 12]
    # A restarted row (decoded again before its first chunk) has a short first chunk again.
    chunker.restart()
    assert [c for c in (chunker.push(token) for token in range(8)) if c is not None] == [2, 7]
    # A first chunk longer than the rest is honoured too.
    longer = TokenChunker(ChunkRule("fixed", min_tokens=3, first_tokens=6))
    assert [c for c in (longer.push(token) for token in range(13)) if c is not None] == [6, 9, 12]
    assert ChunkRule("fixed", 16).shortest(first=True) == 16
    assert ChunkRule("fixed", 16, 8).shortest(first=True) == 8
    assert ChunkRule("fixed", 16, 8).shortest(first=False) == 16
    with pytest.raises(ValueError, match="first_tokens"):
        ChunkRule("fixed", min_tokens=4, first_tokens=0)


def test_t2s_silence_rule_keeps_first_tokens_before_its_first_cut() -> None:
    silent = {5, 6}
    table = tuple(i in silent for i in range(10))
    ids = [1, 5, 6, 1, 5, 6, 1, 1, 5, 6]
    plain = TokenChunker(ChunkRule("silence", min_tokens=4), table)
    short_first = TokenChunker(ChunkRule("silence", min_tokens=4, first_tokens=1), table)
    # With 1 id needed before the first cut, the first silent pair (ids 1 and 2) cuts between
    # them; the rule then needs more than 4 ids pending, so the pair at 4/5 is too soon and the
    # pair at 8/9 cuts. Without it, the pair at 4/5 is the first with more than 4 pending.
    assert [c for c in map(short_first.push, ids) if c is not None] == [2, 9]
    assert [c for c in map(plain.push, ids) if c is not None] == [5, 9]


def test_t2s_silence_rule_cuts_between_two_silence_like_ids_after_min_tokens() -> None:
    silent = {5, 6}
    table = tuple(i in silent for i in range(10))
    chunker = TokenChunker(ChunkRule("silence", min_tokens=3), table)
    # A silent pair inside the first 3 ids does not cut; a lone silent id never does.
    ids = [5, 6, 1, 2, 5, 1, 5, 6, 1, 5, 5, 5, 5]
    cuts = {i: cut for i, token in enumerate(ids) if (cut := chunker.push(token)) is not None}
    # Ids 6 and 7 (values 5, 6) are the first silent pair with more than 3 ids pending: the cut
    # falls between them (7 ids before it). The next pair, ids 9 and 10, leaves exactly 3 ids
    # (7, 8, 9) before its cut; the pairs after it have too few pending.
    assert cuts == {7: 7, 10: 10}
    with pytest.raises(ValueError, match="silence-like"):
        TokenChunker(ChunkRule("silence"))
    with pytest.raises(ValueError, match="min_tokens"):
        ChunkRule("fixed", min_tokens=0)


def test_t2s_silence_like_ids_are_those_near_the_mute_id(tiny: Text2SemanticDecoder) -> None:
    table = silence_like(tiny)
    assert len(table) == tiny.config.vocab_size
    assert table[MUTE_TOKEN]
    assert 0 < sum(table) < len(table)
