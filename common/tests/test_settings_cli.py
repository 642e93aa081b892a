"""Reading typed settings from flags and environment, and the errors for bad values."""

from __future__ import annotations

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gsv_common.settings_cli import SettingsError, document_env_vars, load_settings


class _Example(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GSV_EXAMPLE_", cli_kebab_case=True, cli_implicit_flags=True)

    port: int = Field(8000, ge=1, le=65535, description="Port.")
    max_queue: int = Field(10, ge=1, description="Queue length.")
    verbose: bool = Field(False, description="Talk more.")


document_env_vars(_Example)


def test_defaults_apply_without_flags_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GSV_EXAMPLE_PORT", raising=False)
    settings = load_settings(_Example, [])
    assert (settings.port, settings.max_queue, settings.verbose) == (8000, 10, False)


def test_flag_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GSV_EXAMPLE_PORT", "9000")
    assert load_settings(_Example, []).port == 9000
    assert load_settings(_Example, ["--port", "9100"]).port == 9100


def test_kebab_case_flags_and_implicit_booleans() -> None:
    settings = load_settings(_Example, ["--max-queue", "3", "--verbose"])
    assert settings.max_queue == 3
    assert settings.verbose is True


def test_bad_value_names_flag_env_and_value() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_Example, ["--port", "70000"])
    message = str(err.value)
    assert "--port (GSV_EXAMPLE_PORT)" in message
    assert "less than or equal to 65535" in message
    assert "'70000'" in message


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_Example, ["--port", "0", "--max-queue", "0"])
    assert len(str(err.value).splitlines()) == 2


def test_help_text_carries_environment_variable() -> None:
    assert "[env: GSV_EXAMPLE_MAX_QUEUE]" in (_Example.model_fields["max_queue"].description or "")
