"""``gpt-sovits-operator``: read settings, set up logging, run the kopf operator."""

from __future__ import annotations

from collections.abc import Sequence

from gsv_common.logs import configure_logging
from gsv_common.settings_cli import load_settings_or_exit
from voice_operator.settings import OperatorSettings

PROG = "gpt-sovits-operator"
_QUIET_LOGGERS = ("kubernetes", "urllib3", "aiohttp.access")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    settings = load_settings_or_exit(OperatorSettings, argv, prog=PROG)
    configure_logging(program=PROG, level=settings.log_level, fmt=settings.log_format, quiet=_QUIET_LOGGERS)
    from voice_operator.runner import run

    run(settings)
