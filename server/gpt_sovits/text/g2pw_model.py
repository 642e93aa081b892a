"""The G2PW ONNX model: one onnxruntime session, created once and shared by all threads.

``InferenceSession.run`` may be called concurrently, so the session needs no lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]

from gpt_sovits.errors import CheckpointError
from gpt_sovits.text.g2pw_features import INPUT_NAMES

DEFAULT_PROVIDER = "CPUExecutionProvider"


class G2PWSession:
    """Runs ``g2pW.onnx``: input arrays (see :mod:`g2pw_features`) → label scores ``[B, L]``."""

    def __init__(
        self, path: Path, num_labels: int, provider: str = DEFAULT_PROVIDER, threads: int = 0
    ) -> None:
        if not path.is_file():
            raise CheckpointError(f"G2PW model file {path} does not exist")
        if provider not in ort.get_available_providers():
            raise CheckpointError(
                f"onnxruntime provider {provider!r} (GSV_TEXT_G2PW_PROVIDER) is not available here; "
                f"available: {', '.join(ort.get_available_providers())}"
            )
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        # One short run per sentence: spinning worker threads between runs would only take CPU
        # from the synthesis models sharing the process.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # unused-initialiser warnings are noise for a served model
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=[provider])
        except Exception as exc:  # onnxruntime raises its own untyped exception classes
            raise CheckpointError(f"G2PW model file {path} is not a loadable ONNX model: {exc}") from exc
        names = {i.name for i in self._session.get_inputs()}
        missing = [name for name in INPUT_NAMES if name not in names]
        if missing:
            raise CheckpointError(
                f"G2PW model file {path} lacks the inputs {', '.join(missing)} of the official export "
                f"(expected {', '.join(INPUT_NAMES)})"
            )
        width = next(i.shape for i in self._session.get_inputs() if i.name == "phoneme_mask")[-1]
        if isinstance(width, int) and width != num_labels:
            raise CheckpointError(
                f"G2PW model file {path} scores {width} labels, but POLYPHONIC_CHARS.txt lists "
                f"{num_labels}: the files come from different models"
            )
        self.path = path
        self.num_labels = num_labels

    def predict(self, inputs: dict[str, npt.NDArray[Any]]) -> npt.NDArray[np.float32]:
        """Label scores, one row per query."""
        try:
            probs = np.asarray(self._session.run(None, inputs)[0], dtype=np.float32)
        except Exception as exc:  # shape/type mismatches surface as onnxruntime errors
            raise CheckpointError(f"G2PW model file {self.path} failed to run: {exc}") from exc
        rows = inputs["char_ids"].shape[0]
        if probs.shape != (rows, self.num_labels):
            raise CheckpointError(
                f"G2PW model file {self.path} returned shape {probs.shape}; expected ({rows}, "
                f"{self.num_labels}): one score per label of POLYPHONIC_CHARS.txt"
            )
        return probs
