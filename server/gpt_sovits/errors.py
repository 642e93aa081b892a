"""Errors the model package raises; the server maps them to HTTP codes."""

from __future__ import annotations


class GptSovitsError(Exception):
    """Base of every error raised on purpose by ``gpt_sovits``."""


class CheckpointError(GptSovitsError):
    """A weights file is missing, truncated, of another version, or not a checkpoint.

    The message names the file and what is wrong with it.
    """


class UnsupportedLanguageError(GptSovitsError):
    """The text frontend has no support for the requested language."""


class TextError(GptSovitsError):
    """Text could not be turned into phones (empty after normalisation, too long, ...)."""


class AudioError(GptSovitsError):
    """An audio file is missing, unreadable or unusable as a reference."""


class GenerationError(GptSovitsError):
    """The GPT decode of a sentence collapsed (held one id, looped or ran away) even on retry."""
