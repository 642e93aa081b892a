"""English grapheme-to-phoneme: normalised text → ARPAbet phones in the v2 symbol set.

Per token: punctuation is kept as a phone; single letters are read as letters ("A" → EY1);
homographs are resolved offline (:mod:`en_homographs`); otherwise the lexicon, then ≤3-letter
words spelt out, possessive "'s", the reference's wordsegment split of unknown words, inflected
forms of lexicon words (:mod:`en_morphology`), compounds split into lexicon words, and finally
letter-to-sound rules (:mod:`en_oov`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from gpt_sovits.text import en_lexicon, en_oov
from gpt_sovits.text.en_homographs import resolve
from gpt_sovits.text.en_morphology import inflected
from gpt_sovits.text.symbols import symbol_to_id

# Tokens as the reference tokenizer cuts normalised text: words with inner ' or -, plain words,
# an ellipsis of dots, or any other single non-space character.
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\-]+[A-Za-z]|[A-Za-z]+|\.(?:\s*\.)+|\S")
_POSSESSIVE = re.compile(r"^([a-z]+)('s)$")
_VOICELESS = {"P", "T", "K", "F", "TH", "HH"}
_SIBILANT = {"S", "Z", "SH", "ZH", "CH", "JH"}
_MAX_COMPOUND_PARTS = 4
_MAX_COMPOUND_LETTERS = 40
_MAX_PART_LETTERS = 20


def tokenize(text: str) -> list[str]:
    """Split normalised English into word and punctuation tokens."""
    return _TOKEN.findall(text)


def _spell(word: str) -> list[str]:
    phones: list[str] = []
    for char in word:
        phones.extend(en_lexicon.letter(char) if char.isalpha() else [char])
    return phones


@lru_cache(maxsize=65536)
def _compound(word: str) -> tuple[str, ...] | None:
    """Fewest lexicon words (each ≥ 2 letters) that spell ``word``, or None."""
    if len(word) > _MAX_COMPOUND_LETTERS:
        return None  # not a word: read by the letter-to-sound rules instead
    best: list[tuple[str, ...] | None] = [None] * (len(word) + 1)
    best[0] = ()
    for end in range(2, len(word) + 1):
        for start in range(max(0, end - _MAX_PART_LETTERS), end - 1):
            prefix = best[start]
            piece = word[start:end]
            if prefix is None or len(prefix) >= _MAX_COMPOUND_PARTS or not en_lexicon.contains(piece):
                continue
            candidate = (*prefix, piece)
            current = best[end]
            if current is None or len(candidate) < len(current):
                best[end] = candidate
    result = best[len(word)]
    return result if result is not None and len(result) > 1 else None


@lru_cache(maxsize=65536)
def _segmented(word: str) -> tuple[str, ...] | None:
    """wordsegment's split of an unknown word (its bundled corpus counts), or None when one piece."""
    if len(word) > _MAX_COMPOUND_LETTERS:
        return None
    parts = tuple(_wordsegment().segment(word))  # it reads letters and digits only
    return parts if len(parts) > 1 else None


@lru_cache(maxsize=1)
def _wordsegment() -> Any:
    import wordsegment

    wordsegment.load()  # the unigram / bigram counts shipped in the package
    return wordsegment


def word_phones(original: str) -> list[str]:
    """Pronunciation of one word token (case kept: title case only matters for letters)."""
    word = original.lower()
    if len(word) > 1:
        known = en_lexicon.lookup(word)
        if known is not None:
            return known
    if len(word) <= 3:
        return _spell(word)
    possessive = _POSSESSIVE.match(word)
    if possessive:
        stem = word_phones(possessive.group(1))
        if stem and stem[-1] in _VOICELESS:
            return [*stem, "S"]
        if stem and stem[-1] in _SIBILANT:
            return [*stem, "AH0", "Z"]
        return [*stem, "Z"]
    if not re.search("[aeiouy]", word):
        return _spell(word)  # no vowel letter: an abbreviation such as "llms" or "html"
    parts = _segmented(word)
    if parts is not None:
        # The reference splits an unknown word with wordsegment first ("stwenty" → s + twenty).
        return [phone for part in parts for phone in word_phones(part)]
    derived = inflected(word)
    if derived is not None:
        return derived
    parts = _compound(re.sub(r"[^a-z]", "", word)) if "'" not in word else None
    if parts is not None:
        return [phone for part in parts for phone in word_phones(part)]
    return en_oov.predict(word)


def g2p_en(norm_text: str) -> list[str]:
    """Normalised English → phones (v2 symbols only; "'" becomes "-")."""
    phones: list[str] = []
    previous: str | None = None
    table = symbol_to_id()
    for token in tokenize(norm_text):
        word = token.lower()
        if not re.search("[a-z]", word):
            pron = [token]
        elif len(word) == 1:
            pron = ["EY1"] if token == "A" else en_lexicon.letter(word) if word != "a" else ["AH0"]
        else:
            pron = resolve(word, previous) or word_phones(token)
        previous = word
        for phone in pron:
            if phone in table:
                phones.append(phone)
            elif phone == "'":
                phones.append("-")
    return phones
