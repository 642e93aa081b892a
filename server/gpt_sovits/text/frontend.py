"""The text frontend's entry point: text + language → v2 phone ids (+ word2ph, normalised text).

``text_to_phones`` mirrors the official request path: language runs for mixed text, one
``clean_text`` per run, concatenation, and one retry with a leading "." when fewer than 6 phones
come out (very short texts are read badly otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpt_sovits.errors import TextError, UnsupportedLanguageError
from gpt_sovits.text import en_lexicon, en_oov, pinyin_phones, tone_sandhi
from gpt_sovits.text import g2p_en as g2p_en_module
from gpt_sovits.text import g2p_zh as g2p_zh_module
from gpt_sovits.text import normalize_en as normalize_en_module
from gpt_sovits.text import normalize_zh as normalize_zh_module
from gpt_sovits.text.g2p_en import g2p_en
from gpt_sovits.text.g2p_zh import SentenceReader, g2p_zh
from gpt_sovits.text.g2pw import configured_reader
from gpt_sovits.text.langseg import LangRun, merge_for_request, segment
from gpt_sovits.text.normalize_en import normalize_en
from gpt_sovits.text.normalize_zh import normalize_zh
from gpt_sovits.text.symbols import PUNCTUATION, phones_to_ids, symbol_to_id

#: Request languages of the v2 API.
KNOWN_LANGUAGES = frozenset(
    {"auto", "auto_yue", "en", "zh", "ja", "yue", "ko", "all_zh", "all_ja", "all_yue", "all_ko"}
)
#: The ones this frontend can read.
SUPPORTED_LANGUAGES = frozenset({"auto", "en", "zh", "all_zh"})
# Chinese text may mark pauses with these; each becomes a "," for g2p and then this pause phone.
_PAUSE_MARKS = (("￥", "SP2"), ("^", "SP3"))
_MIN_PHONES = 6
_MIN_EN_PHONES = 4


@dataclass(frozen=True)
class PhoneSequence:
    """One language run turned into phones."""

    language: str
    text: str
    norm_text: str
    phones: tuple[str, ...]
    phone_ids: tuple[int, ...]
    word2ph: tuple[int, ...] | None  # phones per norm_text character (zh only)


@dataclass(frozen=True)
class FrontendResult:
    """A whole request text: its runs and their concatenation."""

    parts: tuple[PhoneSequence, ...]

    @property
    def phones(self) -> list[str]:
        """All phones in order."""
        return [p for part in self.parts for p in part.phones]

    @property
    def phone_ids(self) -> list[int]:
        """All phone ids in order (what the models read)."""
        return [i for part in self.parts for i in part.phone_ids]

    @property
    def norm_text(self) -> str:
        """The normalised texts of the runs, concatenated."""
        return "".join(part.norm_text for part in self.parts)


def _unsupported(language: str) -> UnsupportedLanguageError:
    if language in KNOWN_LANGUAGES:
        return UnsupportedLanguageError(
            f"language {language!r} is not supported by this text frontend "
            f"(supported: {', '.join(sorted(SUPPORTED_LANGUAGES))})"
        )
    return UnsupportedLanguageError(
        f"unknown language {language!r} (supported: {', '.join(sorted(SUPPORTED_LANGUAGES))})"
    )


def _clean_zh(text: str, reader: SentenceReader | None) -> tuple[list[str], list[int], str]:
    if reader is None:
        reader = configured_reader()  # None unless GSV_TEXT_G2PW_MODEL_DIR is set
    for mark, pause in _PAUSE_MARKS:
        if mark in text:
            norm_text = normalize_zh(text.replace(mark, ","))
            phones, word2ph = g2p_zh(norm_text, reader)
            return [pause if p == "," else p for p in phones], word2ph, norm_text
    norm_text = normalize_zh(text)
    phones, word2ph = g2p_zh(norm_text, reader)
    return phones, word2ph, norm_text


def clean_text(text: str, language: str, reader: SentenceReader | None = None) -> PhoneSequence:
    """One run of a single language ("zh" or "en") → phones, ids, word2ph and normalised text."""
    if language == "zh":
        phones, word2ph, norm_text = _clean_zh(text, reader)
        if len(word2ph) != len(norm_text) or sum(word2ph) != len(phones):
            raise TextError(f"phone alignment failed for {text!r}")
        counts: tuple[int, ...] | None = tuple(word2ph)
    elif language == "en":
        norm_text = normalize_en(text)
        phones = g2p_en(norm_text)
        if len(phones) < _MIN_EN_PHONES:
            phones = [",", *phones]  # a short English run reads better after a pause
        counts = None
    else:
        raise _unsupported(language)
    table = symbol_to_id()
    phones = [p if p in table else "UNK" for p in phones]
    return PhoneSequence(language, text, norm_text, tuple(phones), tuple(phones_to_ids(phones)), counts)


def language_runs(text: str, language: str) -> list[LangRun]:
    """The runs a request text is read in, by request language (see the module docstring)."""
    if language not in SUPPORTED_LANGUAGES:
        raise _unsupported(language)
    text = re.sub(r" {2,}", " ", text)
    if language == "en":
        return [LangRun("en", text)]
    if language == "all_zh":
        # English runs stay English; everything else, numbers included, is read as Chinese.
        return merge_for_request(segment(text, forced_language="zh"), "zh")
    runs = segment(text)
    if language == "auto":
        for run in runs:
            if run.lang not in ("zh", "en"):
                raise _unsupported(run.lang)
        return runs
    return merge_for_request(runs, language)


def _convert(text: str, language: str, reader: SentenceReader | None) -> FrontendResult:
    return FrontendResult(
        tuple(clean_text(run.text, run.lang, reader) for run in language_runs(text, language))
    )


def text_to_phones(text: str, language: str, reader: SentenceReader | None = None) -> FrontendResult:
    """Request text in a request language → phone ids per run; a :class:`TextError` when silent.

    ``reader`` (e.g. :func:`gpt_sovits.text.g2pw.load_reader`) replaces pypinyin's polyphone
    readings for Chinese; by default the configured G2PW model does, when there is one.
    """
    if not isinstance(text, str):
        raise TextError("text must be a string")
    result = _convert(text, language, reader)
    if len(result.phone_ids) < _MIN_PHONES:
        result = _convert("." + text, language, reader)
    if all(p in PUNCTUATION for p in result.phones):
        raise TextError(f"nothing to pronounce in {text[:80]!r}")
    return result


def clear_caches() -> None:
    """Forget the per-word memo tables (readings, spellings); the dictionaries stay loaded."""
    for cached in (
        g2p_zh_module.word_initials_finals,
        g2p_zh_module._split_tone3,
        tone_sandhi._word_finals,
        normalize_zh_module.has_reading,
        pinyin_phones.syllable_phones,
        g2p_en_module._compound,
        en_oov._spell_rules,
        normalize_en_module._words,
        normalize_en_module._inflect_ordinal,
        normalize_en_module._ordinal_words,
    ):
        cached.cache_clear()


def warm_up() -> None:
    """Load the dictionaries (jieba, CMU) now rather than on the first request."""
    en_lexicon.warm_up()
    text_to_phones("你好, hello world.", "zh")
