"""A stream's playback clock, and the rank of its next audio in the SoVITS queue.

One SoVITS worker serves every request of a model, one item at a time, so the order of its queue
decides who waits. A stream that has not sent audio yet has a listener waiting in silence: its
first piece (a token chunk, or its first sentence) goes ahead of everything else. A stream already
playing can wait until the audio it has sent runs out: its next piece is due at that moment, its
first audio's time plus the seconds sent, assuming the client plays as it receives. Work of whole
(unstreamed) requests is due at its arrival. So new streams start fast, playing streams are
served before their listener runs dry when there is capacity, and, when there is not, the one
that ran out first goes first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from voice_server.engine.queue import NORMAL, URGENT


@dataclass
class Playback:
    """The audio one stream has handed to its client so far."""

    sample_rate: int
    #: False: every piece ranks as work arriving now (first come, first served).
    ranked: bool = True
    #: When its first audio left (monotonic seconds); None before.
    started_at: float | None = None
    sent_s: float = 0.0

    def rank(self) -> tuple[int, float | None]:
        """(urgency, due) of the stream's next piece of audio."""
        if not self.ranked:
            return NORMAL, None
        if self.started_at is None:
            return URGENT, None
        return NORMAL, self.started_at + self.sent_s

    def sent(self, samples: int) -> None:
        """``samples`` more audio went to the client (the first call starts the clock)."""
        if not samples:
            return
        if self.started_at is None:
            self.started_at = time.monotonic()
        self.sent_s += samples / self.sample_rate
