"""Request-level text processing: a target text cut into pieces, and the reference prompt text.

Mirrors the official request path: the target text is split (cut0..cut5), each piece goes through
the frontend, pieces with nothing to say are skipped; the prompt text is not cut, only given a final
stop mark when it lacks one.
"""

from __future__ import annotations

from gpt_sovits.errors import TextError
from gpt_sovits.text.frontend import FrontendResult, TextFrontend, default_frontend
from gpt_sovits.text.g2p_zh import SentenceReader
from gpt_sovits.text.languages import check_language
from gpt_sovits.text.split import SPLIT_MARKS, prepare_text


def target_phones(
    text: str,
    language: str,
    method: str = "cut5",
    reader: SentenceReader | None = None,
    frontend: TextFrontend | None = None,
) -> list[FrontendResult]:
    """Target text → one frontend result per piece to synthesise (in order).

    A :class:`TextError` when no piece has anything to say; unsupported languages raise
    :class:`~gpt_sovits.errors.UnsupportedLanguageError` before any work.
    """
    check_language(language)
    frontend = frontend if frontend is not None else default_frontend()
    results: list[FrontendResult] = []
    for piece in prepare_text(text, language, method):
        try:
            results.append(frontend.text_to_phones(piece, language, reader))
        except TextError:
            # The official path silently skips pieces that normalise to nothing (e.g. emoji only).
            continue
    if not results:
        raise TextError(f"nothing to pronounce in {text[:80]!r}")
    return results


def prompt_phones(
    text: str, language: str, reader: SentenceReader | None = None, frontend: TextFrontend | None = None
) -> FrontendResult:
    """The reference audio's transcript → phones (not cut; a final stop is added when missing)."""
    text = text.strip("\n")
    if text and text[-1] not in SPLIT_MARKS:
        text += "." if language == "en" else "。"
    frontend = frontend if frontend is not None else default_frontend()
    return frontend.text_to_phones(text, language, reader)
