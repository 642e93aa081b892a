"""Chinese grapheme-to-phoneme: normalised text → v2 phones and per-character phone counts.

Pipeline per sentence: jieba words with POS → merges for tone rules → pypinyin initials/finals per
word (or G2PW readings when configured) → tone sandhi → erhua → v2 phone pairs. Each character gives
two phones (initial, final+tone); each punctuation mark gives one (``word2ph``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_finals_tone3, to_initials

from gpt_sovits.errors import TextError
from gpt_sovits.text.pinyin_phones import pinyin_to_phones
from gpt_sovits.text.segmenter import cut_with_pos
from gpt_sovits.text.symbols import PUNCTUATION
from gpt_sovits.text.tone_sandhi import apply_sandhi, merge_erhua, pre_merge

_PUNCT_CLASS = "".join(re.escape(p) for p in PUNCTUATION)
_AFTER_PUNCT = re.compile(rf"(?<=[{_PUNCT_CLASS}])\s*")
_LATIN = re.compile(r"[a-zA-Z]+")

#: A per-sentence reading source: sentence → one pypinyin-style TONE3 syllable (or the char) per char.
SentenceReader = Callable[[str], list[str]]


@lru_cache(maxsize=65536)
def word_initials_finals(word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """pypinyin strict initials and TONE3 finals (5 = neutral) of one word, read in word context."""
    initials = lazy_pinyin(word, neutral_tone_with_five=True, style=Style.INITIALS)
    finals = lazy_pinyin(word, neutral_tone_with_five=True, style=Style.FINALS_TONE3)
    return tuple(initials), tuple(finals)


@lru_cache(maxsize=4096)  # few distinct syllables; pypinyin's converters are slow per call
def _split_tone3(syllable: str) -> tuple[str, str]:
    """A TONE3 syllable ("zhong1") → (strict initial, final with tone)."""
    if not syllable[:1].isalpha():
        return syllable, syllable
    return to_initials(syllable), to_finals_tone3(syllable, neutral_tone_with_five=True)


def _sentence_phones(sentence: str, reader: SentenceReader | None) -> tuple[list[str], list[int]]:
    sentence = _LATIN.sub("", sentence)
    words = pre_merge(cut_with_pos(sentence))
    readings = reader(sentence) if reader is not None else None
    phones: list[str] = []
    word2ph: list[int] = []
    offset = 0
    for word, pos in words:
        if pos == "eng":
            offset += len(word)
            continue
        if readings is not None:
            pairs = [_split_tone3(s) for s in readings[offset : offset + len(word)]]
            initials, finals = [p[0] for p in pairs], [p[1] for p in pairs]
        else:
            cached_initials, cached_finals = word_initials_finals(word)
            initials, finals = list(cached_initials), list(cached_finals)
        offset += len(word)
        finals = apply_sandhi(word, pos, finals)
        initials, finals = merge_erhua(initials, finals, word, pos)
        for initial, final in zip(initials, finals, strict=False):
            if initial == final:
                if initial not in PUNCTUATION:
                    raise TextError(f"no Chinese reading for {initial!r} in {sentence!r}")
                phones.append(initial)
                word2ph.append(1)
            else:
                phones.extend(pinyin_to_phones(initial, final))
                word2ph.append(2)
    return phones, word2ph


def g2p_zh(norm_text: str, reader: SentenceReader | None = None) -> tuple[list[str], list[int]]:
    """Normalised Chinese text → (phones, word2ph); ``reader`` optionally supplies G2PW readings."""
    sentences = [s for s in _AFTER_PUNCT.split(norm_text) if s.strip()]
    phones: list[str] = []
    word2ph: list[int] = []
    for sentence in sentences:
        sentence_phones, sentence_counts = _sentence_phones(sentence, reader)
        phones += sentence_phones
        word2ph += sentence_counts
    return phones, word2ph
