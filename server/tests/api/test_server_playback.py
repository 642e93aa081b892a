"""A stream's playback clock ranks its next SoVITS work."""

from __future__ import annotations

import time

import pytest

from voice_server.engine.playback import Playback
from voice_server.engine.queue import NORMAL, URGENT


def test_a_stream_without_audio_is_urgent() -> None:
    playback = Playback(sample_rate=32000)
    assert playback.rank() == (URGENT, None)
    playback.sent(0)  # an empty piece (all of it held back for the next seam) starts nothing
    assert playback.rank() == (URGENT, None)


def test_a_playing_stream_is_due_when_its_audio_runs_out() -> None:
    playback = Playback(sample_rate=32000)
    before = time.monotonic()
    playback.sent(16000)
    after = time.monotonic()
    playback.sent(48000)
    urgency, due = playback.rank()
    assert urgency == NORMAL
    assert due is not None
    assert before + 2.0 <= due <= after + 2.0
    assert playback.sent_s == pytest.approx(2.0)


def test_arrival_order_ranks_every_piece_as_new_work() -> None:
    playback = Playback(sample_rate=32000, ranked=False)
    assert playback.rank() == (NORMAL, None)
    playback.sent(32000)
    assert playback.rank() == (NORMAL, None)
