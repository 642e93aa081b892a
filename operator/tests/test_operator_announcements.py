"""Degraded events are announced once per problem, even when two handlers race."""

from __future__ import annotations

from typing import Any

from voice_operator.handlers import Announcements


def status(reason: str | None) -> dict[str, Any]:
    condition = {
        "type": "Degraded",
        "status": "True" if reason else "False",
        "reason": reason or "AsExpected",
    }
    return {"conditions": [condition]}


def test_one_post_per_problem() -> None:
    announcements = Announcements()
    event = {"reason": "SecretMissing", "message": "x"}
    assert announcements.should_post("uid", event, status("SecretMissing")) is True
    # A racing reconcile that read the old status also thinks the problem is new.
    assert announcements.should_post("uid", event, status("SecretMissing")) is False
    # A different problem is news.
    other = {"reason": "InvalidSpec", "message": "y"}
    assert announcements.should_post("uid", other, status("InvalidSpec")) is True


def test_a_problem_that_returns_is_announced_again() -> None:
    announcements = Announcements()
    event = {"reason": "SecretMissing", "message": "x"}
    assert announcements.should_post("uid", event, status("SecretMissing"))
    assert not announcements.should_post("uid", None, status(None))
    assert announcements.should_post("uid", event, status("SecretMissing"))


def test_objects_are_tracked_apart() -> None:
    announcements = Announcements()
    event = {"reason": "SecretMissing", "message": "x"}
    assert announcements.should_post("a", event, status("SecretMissing"))
    assert announcements.should_post("b", event, status("SecretMissing"))
    assert not announcements.should_post("a", None, status("SecretMissing"))
