"""The text frontend's entry point: text + language → v2 phone ids (+ word2ph, normalised text).

``TextFrontend.text_to_phones`` mirrors the official request path: language runs for mixed text
(:mod:`languages`), one ``clean_text`` per run, concatenation, and one retry with a leading "."
when fewer than 6 phones come out (very short texts are read badly otherwise).

A :class:`TextFrontend` is built from :class:`~gpt_sovits.text.settings.TextSettings` (its G2PW
reader, jieba cache folder and Japanese user dictionary); the module-level functions use one
frontend with the default settings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from gpt_sovits.errors import TextError
from gpt_sovits.text import en_lexicon, en_oov, g2p_ko, pinyin_phones, segmenter, tone_sandhi
from gpt_sovits.text import g2p_en as g2p_en_module
from gpt_sovits.text import g2p_zh as g2p_zh_module
from gpt_sovits.text import normalize_en as normalize_en_module
from gpt_sovits.text import normalize_zh as normalize_zh_module
from gpt_sovits.text.g2p_en import g2p_en
from gpt_sovits.text.g2p_ja import JapaneseG2P, normalize_ja
from gpt_sovits.text.g2p_yue import g2p_yue
from gpt_sovits.text.g2p_zh import SentenceReader, g2p_zh
from gpt_sovits.text.g2pw import load_reader
from gpt_sovits.text.languages import (
    KNOWN_LANGUAGES,
    LANGUAGE_NAMES,
    SUPPORTED_LANGUAGES,
    check_language,
    known_languages_text,
    language_runs,
)
from gpt_sovits.text.normalize_en import normalize_en
from gpt_sovits.text.normalize_yue import normalize_yue
from gpt_sovits.text.normalize_zh import normalize_zh
from gpt_sovits.text.settings import TextSettings
from gpt_sovits.text.symbols import PUNCTUATION, phones_to_ids, symbol_to_id

__all__ = [
    "KNOWN_LANGUAGES",
    "LANGUAGE_NAMES",
    "SUPPORTED_LANGUAGES",
    "FrontendResult",
    "PhoneSequence",
    "TextFrontend",
    "check_language",
    "clean_text",
    "clear_caches",
    "default_frontend",
    "known_languages_text",
    "language_runs",
    "text_to_phones",
    "warm_up",
]

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
    word2ph: tuple[int, ...] | None  # phones per norm_text character (zh and yue only)


@dataclass(frozen=True)
class FrontendResult:
    """A whole request text: its runs and their concatenation."""

    parts: tuple[PhoneSequence, ...]
    #: The text actually read: the request text, or "." + it after the short-text retry.
    text: str = ""

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


def _clean_zh(text: str, reader: SentenceReader | None) -> tuple[list[str], list[int], str]:
    for mark, pause in _PAUSE_MARKS:
        if mark in text:
            norm_text = normalize_zh(text.replace(mark, ","))
            phones, word2ph = g2p_zh(norm_text, reader)
            return [pause if p == "," else p for p in phones], word2ph, norm_text
    norm_text = normalize_zh(text)
    phones, word2ph = g2p_zh(norm_text, reader)
    return phones, word2ph, norm_text


def _english(text: str) -> tuple[str, list[str]]:
    norm_text = normalize_en(text)
    phones = g2p_en(norm_text)
    if len(phones) < _MIN_EN_PHONES:
        phones = [",", *phones]  # a short English run reads better after a pause
    return norm_text, phones


def _checked_counts(text: str, phones: list[str], word2ph: list[int], norm_text: str) -> tuple[int, ...]:
    if len(word2ph) != len(norm_text) or sum(word2ph) != len(phones):
        raise TextError(f"phone alignment failed for {text!r}")
    return tuple(word2ph)


class TextFrontend:
    """Text → phones for every request language, configured by one :class:`TextSettings`.

    Thread-safe; models and dictionaries load on first use (or :meth:`warm_up`).
    """

    def __init__(self, settings: TextSettings | None = None) -> None:
        self.settings = settings if settings is not None else TextSettings()
        self._japanese = JapaneseG2P(self.settings.ja_user_dict, self.settings.cache_dir)
        self._lock = threading.Lock()
        self._g2pw: list[SentenceReader] = []  # the configured G2PW reader, once loaded

    def zh_reader(self) -> SentenceReader | None:
        """The configured G2PW reader (loaded once), or None: pypinyin readings."""
        settings = self.settings
        if settings.g2pw_model_dir is None:
            return None
        with self._lock:
            if not self._g2pw:
                self._g2pw.append(
                    load_reader(
                        settings.g2pw_model_dir,
                        settings.g2pw_tokenizer_dir,
                        settings.g2pw_provider,
                        settings.g2pw_threads,
                    )
                )
            return self._g2pw[0]

    def clean_text(self, text: str, language: str, reader: SentenceReader | None = None) -> PhoneSequence:
        """One run of one language (zh, en, ja, ko, yue) → phones, ids, word2ph, normalised text.

        ``reader`` replaces the Chinese polyphone reader (default: G2PW when configured, else pypinyin).
        """
        counts: tuple[int, ...] | None = None
        if language == "zh":
            segmenter.initialize(self.settings.cache_dir)
            phones, word2ph, norm_text = _clean_zh(text, reader if reader is not None else self.zh_reader())
            counts = _checked_counts(text, phones, word2ph, norm_text)
        elif language == "en":
            norm_text, phones = _english(text)
        elif language == "ja":
            norm_text = normalize_ja(text)
            phones = self._japanese(norm_text)
        elif language == "ko":
            norm_text = text  # the official Korean path has no normalisation
            phones = g2p_ko.g2p_ko(text)
        elif language == "yue":
            phones, word2ph, norm_text = g2p_yue(normalize_yue(text))
            counts = _checked_counts(text, phones, word2ph, norm_text)
        else:
            # A detector label without a reader (e.g. "punctuation" for a text of marks only): the
            # official frontend reads a single space as English instead, which says nothing.
            norm_text, phones = _english(" ")
        table = symbol_to_id()
        phones = [p if p in table else "UNK" for p in phones]
        return PhoneSequence(language, text, norm_text, tuple(phones), tuple(phones_to_ids(phones)), counts)

    def _convert(self, text: str, language: str, reader: SentenceReader | None) -> FrontendResult:
        runs = language_runs(text, language)
        return FrontendResult(tuple(self.clean_text(run.text, run.lang, reader) for run in runs), text)

    def text_to_phones(
        self, text: str, language: str, reader: SentenceReader | None = None
    ) -> FrontendResult:
        """Request text in a request language → phone ids per run; a :class:`TextError` when silent."""
        if not isinstance(text, str):
            raise TextError("text must be a string")
        result = self._convert(text, language, reader)
        if len(result.phone_ids) < _MIN_PHONES:
            result = self._convert("." + text, language, reader)
        if all(p in PUNCTUATION for p in result.phones):
            raise TextError(f"nothing to pronounce in {text[:80]!r}")
        return result

    def warm_up(self) -> None:
        """Load every dictionary and model now (jieba, CMU, G2PW, OpenJTalk, mecab-ko, detector)."""
        en_lexicon.warm_up()
        self._japanese.warm_up()
        g2p_ko.warm_up()
        self.text_to_phones("你好, hello world.", "zh")
        self.text_to_phones("今日は。안녕하세요. 你好。", "auto_yue")


@lru_cache(maxsize=1)
def default_frontend() -> TextFrontend:
    """The frontend with default settings (no G2PW, no user dictionary), shared."""
    return TextFrontend()


def clean_text(text: str, language: str, reader: SentenceReader | None = None) -> PhoneSequence:
    """:meth:`TextFrontend.clean_text` of the default frontend."""
    return default_frontend().clean_text(text, language, reader)


def text_to_phones(text: str, language: str, reader: SentenceReader | None = None) -> FrontendResult:
    """:meth:`TextFrontend.text_to_phones` of the default frontend.

    ``reader`` (e.g. :func:`gpt_sovits.text.g2pw.load_reader`) replaces pypinyin's polyphone
    readings for Chinese.
    """
    return default_frontend().text_to_phones(text, language, reader)


def warm_up() -> None:
    """:meth:`TextFrontend.warm_up` of the default frontend."""
    default_frontend().warm_up()


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
