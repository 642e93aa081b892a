"""The JSON log format both programs write."""

from __future__ import annotations

import json
import logging

import pytest

from gsv_common.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_standard_keys_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(program="unit-test", level="INFO", fmt="json")
    logging.getLogger("gsv.test").info("hello", extra={"speaker": "alice", "latency_ms": 12.5})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "hello"
    assert record["level"] == "INFO"
    assert record["logger"] == "gsv.test"
    assert record["program"] == "unit-test"
    assert record["speaker"] == "alice"
    assert record["latency_ms"] == 12.5
    assert "time" in record


def test_reconfiguring_replaces_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(program="a", fmt="json")
    configure_logging(program="b", fmt="text", level="WARNING")
    logging.getLogger("gsv.test").info("dropped")
    logging.getLogger("gsv.test").warning("kept")
    err = capsys.readouterr().err
    assert "dropped" not in err
    assert err.count("kept") == 1
    assert "WARNING" in err


def test_quiet_loggers_held_at_warning_unless_debug() -> None:
    configure_logging(program="a", level="INFO", quiet=["chatty.lib"])
    assert logging.getLogger("chatty.lib").level == logging.WARNING
    configure_logging(program="a", level="DEBUG", quiet=["chatty.lib"])
    assert logging.getLogger("chatty.lib").level == logging.DEBUG
