"""Structured logging for both programs: one JSON object per line on stderr.

Each program calls :func:`configure_logging` once at start-up; nothing else touches the root
logger. Extra context (request id, object name) is added by each program's own filters.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Renamed so every line carries the same short keys that log pipelines index on.
_JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


def build_formatter(fmt: LogFormat, program: str) -> logging.Formatter:
    """Return the formatter for ``fmt``; JSON lines carry ``program`` so mixed streams stay apart."""
    if fmt == "text":
        return logging.Formatter(_TEXT_FORMAT)
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields=_JSON_RENAMES,
        static_fields={"program": program},
        timestamp=False,
    )


def configure_logging(
    *,
    program: str,
    level: LogLevel = "INFO",
    fmt: LogFormat = "json",
    filters: Iterable[logging.Filter] = (),
    quiet: Iterable[str] = (),
) -> None:
    """Install one stderr handler on the root logger, replacing any earlier one.

    ``quiet`` names chatty third-party loggers that are held at WARNING unless ``level`` is DEBUG.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(build_formatter(fmt, program))
    for log_filter in filters:
        handler.addFilter(log_filter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
