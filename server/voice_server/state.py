"""ServerState: everything one application owns, and the phase of its life.

One object per app (``app.state.server``), built by :func:`voice_server.app.create_app`. The phase
is the single truth the probes read:

- ``/startup`` passes once start-up is over (ready, no model, failed or draining), so a load that
  hangs gets the pod restarted after the startup probe's budget and a load that fails is left to
  the liveness probe at once;
- ``/health`` fails in ``FAILED`` (the model did not load, or a model stage died);
- ``/ready`` passes in ``READY`` only.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from voice_server.api_key import ApiKey
from voice_server.cache import AudioCache
from voice_server.engine.registry import ModelRegistry
from voice_server.metrics import ServerMetrics
from voice_server.settings import ServerSettings
from voice_server.speakers import SpeakerRegistry
from voice_server.synthesis import SynthesisService

log = logging.getLogger(__name__)


class Phase(enum.Enum):
    """Where the server stands; the value is what the probes' bodies say."""

    STARTING = "starting"
    LOADING = "loading"
    WARMING_UP = "warming up"
    READY = "ready"
    NO_MODEL = "no model"
    FAILED = "failed"
    DRAINING = "draining"

    @property
    def started(self) -> bool:
        """Start-up is over, well or badly."""
        return self not in (Phase.STARTING, Phase.LOADING, Phase.WARMING_UP)


@dataclass
class ServerState:
    """The application's parts and its phase."""

    settings: ServerSettings
    metrics: ServerMetrics
    speakers: SpeakerRegistry
    cache: AudioCache
    registry: ModelRegistry
    synthesis: SynthesisService
    #: The key API requests must present (re-read when its file changes), None when auth is off.
    api_key: ApiKey | None
    phase: Phase = Phase.STARTING
    #: Why the server is FAILED (the load error or the dead stage).
    failure: str | None = None
    #: Speakers whose files cannot work, with the reason (found by the warm-up or a request).
    speaker_problems: dict[str, str] = field(default_factory=dict)
    #: Asks the process to drain and exit (set by the CLI; None where the app is embedded).
    request_exit: Callable[[], None] | None = None

    def set_phase(self, phase: Phase) -> None:
        """Move to ``phase``; FAILED and DRAINING are final."""
        if self.phase in (Phase.FAILED, Phase.DRAINING):
            return
        self.phase = phase
        self.metrics.ready.set(1 if phase is Phase.READY else 0)

    def fail(self, reason: str) -> None:
        """The process cannot serve any more: report unhealthy so it gets restarted."""
        if self.phase is Phase.FAILED:
            return
        self.failure = reason
        log.error("server failed", extra={"error": reason})
        self.set_phase(Phase.FAILED)

    def drain(self) -> None:
        """Readiness off, new synthesis refused with 503; what is in flight carries on."""
        self.set_phase(Phase.DRAINING)
        self.synthesis.accepting = False

    def note_speaker_problem(self, speaker_id: str, reason: str) -> None:
        """Record that a speaker's files cannot work (reported by ``/ready`` and a metric)."""
        self.speaker_problems[speaker_id] = reason
        self.metrics.speakers_misconfigured.set(len(self.speaker_problems))

    def clear_speaker_problem(self, speaker_id: str) -> None:
        """A speaker synthesised fine again (its files were fixed)."""
        if self.speaker_problems.pop(speaker_id, None) is not None:
            self.metrics.speakers_misconfigured.set(len(self.speaker_problems))
