"""--cuda-graphs reaches the continuous decode: settings -> app -> registry -> Synthesizer -> the
GPT model -> DecodeSlots; on a CPU the decode then stays eager (nothing is captured)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gpt_sovits.t2s.graphs import GraphedStep
from voice_server.engine.continuous import ContinuousGpt
from voice_server.settings import ServerSettings


def _continuous_stage(server: Any) -> ContinuousGpt:
    (model,) = server.state.registry.models()
    assert isinstance(model.gpt, ContinuousGpt)
    return model.gpt


def test_cuda_graphs_reach_the_continuous_decode_and_stay_eager_on_cpu(
    serve: Callable[..., Any], demo_settings: dict[str, Any]
) -> None:
    server = serve(**demo_settings, scheduler="continuous", device="cpu", cuda_graphs=True)
    server.wait_ready()  # the warm-up synthesised once per speaker through the continuous stage
    stage = _continuous_stage(server)
    assert stage._synthesizer.t2s.cuda_graphs is True
    graphs = stage._slots.graphs
    assert isinstance(graphs, GraphedStep)
    assert graphs.stats.eager > 0
    assert (graphs.stats.padded, graphs.stats.captures, graphs.stats.failed) == (0, 0, 0)


def test_cuda_graphs_are_off_by_default(serve: Callable[..., Any], demo_settings: dict[str, Any]) -> None:
    server = serve(**demo_settings, scheduler="continuous", device="cpu")
    server.wait_ready()
    stage = _continuous_stage(server)
    assert stage._synthesizer.t2s.cuda_graphs is False
    assert stage._slots.graphs is None


def test_cuda_graphs_is_read_from_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServerSettings().cuda_graphs is False
    monkeypatch.setenv("VOICE_SERVER_CUDA_GRAPHS", "true")
    assert ServerSettings().cuda_graphs is True
