"""Reads a program's typed settings from CLI flags and environment variables.

Flags win over environment variables, which win over defaults. ``--help`` lists every option with
its description, default and environment variable. A bad value ends the program with exit code 2
and one line per problem naming the flag, instead of a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, CliApp

S = TypeVar("S", bound=BaseSettings)


class SettingsError(ValueError):
    """Settings could not be read; the message names each offending option."""


def describe_errors(err: ValidationError, env_prefix: str) -> str:
    """Turn a pydantic error into lines like ``--port (VOICE_SERVER_PORT): must be <= 65535``."""
    lines = []
    for problem in err.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "settings"
        flag = "--" + field.replace("_", "-")
        env = env_prefix + field.upper().replace(".", "__")
        value = problem.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"{flag} ({env}): {problem['msg']}{shown}")
    return "\n".join(lines)


def document_env_vars(cls: type[BaseSettings]) -> None:
    """Append each field's environment variable to its description, so ``--help`` shows it."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    for name, field in cls.model_fields.items():
        env = f"[env: {prefix}{name.upper()}]"
        if field.description and env not in field.description:
            field.description = f"{field.description} {env}"
    cls.model_rebuild(force=True)


def load_settings(cls: type[S], argv: Sequence[str] | None = None) -> S:
    """Build ``cls`` from ``argv`` (default: ``sys.argv[1:]``) and the environment.

    Raises :class:`SettingsError` with a readable message when a value is invalid.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return CliApp.run(cls, cli_args=args)
    except ValidationError as err:
        prefix = str(cls.model_config.get("env_prefix", ""))
        raise SettingsError(describe_errors(err, prefix)) from None


def load_settings_or_exit(cls: type[S], argv: Sequence[str] | None = None, *, prog: str) -> S:
    """Like :func:`load_settings`, but print the problem and exit 2 the way argparse does."""
    try:
        return load_settings(cls, argv)
    except SettingsError as err:
        sys.stderr.write(f"{prog}: invalid settings:\n{err}\n")
        raise SystemExit(2) from None
