"""Request languages (the official v2 codes) and how each one cuts a text into language runs.

* a plain language (``zh``, ``ja``, ``ko``, ``yue``): English runs are read as English, everything
  else, whatever its script, in the request language;
* ``all_*``: every non-English run in that language, numbers included (``all_yue`` runs the
  segmenter as Chinese and reads the Chinese runs as Cantonese);
* ``auto``: each run in the language the detector gives it (zh, ja, ko or en); ``auto_yue`` the
  same with Chinese runs read as Cantonese;
* ``en``: the whole text as English.
"""

from __future__ import annotations

import re

from gpt_sovits.errors import UnsupportedLanguageError
from gpt_sovits.text.langseg import LangRun, merge_for_request, segment

#: Every request language code, with what it means (for help texts and error messages).
LANGUAGE_NAMES: dict[str, str] = {
    "zh": "Chinese (Mandarin); English runs read as English",
    "en": "English",
    "ja": "Japanese; English runs read as English",
    "ko": "Korean; English runs read as English",
    "yue": "Cantonese; English runs read as English",
    "all_zh": "Chinese only (numbers read in Chinese); English runs read as English",
    "all_ja": "Japanese only (numbers read in Japanese); English runs read as English",
    "all_ko": "Korean only (numbers read in Korean); English runs read as English",
    "all_yue": "Cantonese only (numbers read in Cantonese); English runs read as English",
    "auto": "detected per run: Chinese, Japanese, Korean or English",
    "auto_yue": "detected per run, with Chinese read as Cantonese",
}
#: Request languages of the v2 API.
KNOWN_LANGUAGES = frozenset(LANGUAGE_NAMES)
#: The ones this frontend can read (all of them).
SUPPORTED_LANGUAGES = KNOWN_LANGUAGES
# The all_* modes run the segmenter with this default language before relabelling.
_SEGMENTER_DEFAULT = {"zh": "zh", "ja": "ja", "ko": "ko", "yue": "zh"}


def known_languages_text() -> str:
    """The codes, sorted and comma-separated (for error messages)."""
    return ", ".join(sorted(SUPPORTED_LANGUAGES))


def check_language(language: str) -> str:
    """``language`` when it is a supported request language, else an error listing the codes."""
    if language in SUPPORTED_LANGUAGES:
        return language
    what = "not supported by this text frontend" if language in KNOWN_LANGUAGES else "unknown"
    raise UnsupportedLanguageError(f"language {language!r} is {what}; use one of {known_languages_text()}")


def _relabel(runs: list[LangRun], old: str, new: str) -> list[LangRun]:
    return [LangRun(new, run.text) if run.lang == old else run for run in runs]


def language_runs(text: str, language: str) -> list[LangRun]:
    """The runs a request text is read in, by request language (see the module docstring)."""
    check_language(language)
    text = re.sub(r" {2,}", " ", text)
    if not text:
        return []
    if language == "en":
        return [LangRun("en", text)]
    if language.startswith("all_"):
        base = language.removeprefix("all_")
        runs = segment(text, default=_SEGMENTER_DEFAULT[base])
        return _relabel(runs, "zh", "yue") if base == "yue" else runs
    if language == "auto":
        return segment(text)
    if language == "auto_yue":
        return _relabel(segment(text), "zh", "yue")
    return merge_for_request(segment(text), language)
