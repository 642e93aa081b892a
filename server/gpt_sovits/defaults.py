"""The one table of synthesis defaults: the official api_v2 values.

Every layer that offers a default (the sampler, the pipeline, the server's request schemas) reads it
from here, so a request that leaves a field out means the same thing on every route.
"""

from __future__ import annotations

from typing import Final

LANGUAGE: Final = "auto"
TOP_K: Final = 15
TOP_P: Final = 1.0
TEMPERATURE: Final = 1.0
REPETITION_PENALTY: Final = 1.35
SPEED: Final = 1.0
TEXT_SPLIT_METHOD: Final = "cut5"
FRAGMENT_INTERVAL_S: Final = 0.3
NOISE_SCALE: Final = 0.5
