"""The checks a request's fields pass on their way into options; each error names its field."""

from __future__ import annotations

from gpt_sovits.errors import UnsupportedLanguageError
from gpt_sovits.text import languages
from voice_server.audio_format import FORMATS
from voice_server.errors import InvalidInputError, PayloadTooLargeError, UnsupportedError


def check_language(language: str, field: str) -> str:
    """Refuse a language the text frontend cannot read (422 naming ``field`` and the known codes)."""
    try:
        return languages.check_language(language)
    except UnsupportedLanguageError as err:
        raise UnsupportedError(str(err), field=field) from None


def check_text(text: str, max_length: int, field: str) -> str:
    """Strip the text and enforce the configured length limit."""
    stripped = text.strip()
    if not stripped:
        raise InvalidInputError("text is empty", field=field)
    if len(stripped) > max_length:
        raise PayloadTooLargeError(
            f"text has {len(stripped)} characters; the limit is {max_length}", field=field
        )
    return stripped


def check_format(value: str) -> str:
    """A pydantic validator: the audio format must be one this server encodes."""
    if value not in FORMATS:
        raise ValueError(f"unsupported format {value!r}; one of {', '.join(sorted(FORMATS))}")
    return value
