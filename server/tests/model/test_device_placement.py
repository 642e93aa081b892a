"""Device and precision choice: auto resolution, GPU-only half precisions, thread count."""

from __future__ import annotations

import pytest
import torch

from gpt_sovits.device import DeviceError, resolve, resolve_device, resolve_dtype, set_torch_threads
from gpt_sovits.errors import GptSovitsError

HAS_CUDA = torch.cuda.is_available()


def test_device_auto_follows_cuda_availability() -> None:
    expected = "cuda" if HAS_CUDA else "cpu"
    assert resolve_device("auto").type == expected


def test_device_cpu_defaults_to_fp32() -> None:
    placement = resolve("cpu", "auto")
    assert placement.device == torch.device("cpu")
    assert placement.dtype == torch.float32
    assert placement.precision == "fp32"


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_device_half_precision_on_cpu_is_refused(precision: str) -> None:
    with pytest.raises(DeviceError, match=rf"precision {precision} needs a CUDA GPU"):
        resolve("cpu", precision)


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "gpu", ""])
def test_device_unknown_name_is_refused(name: str) -> None:
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device(name)


def test_device_unknown_precision_is_refused() -> None:
    with pytest.raises(DeviceError, match="unknown precision 'fp8'"):
        resolve_dtype("fp8", torch.device("cpu"))


def test_device_error_is_a_model_error() -> None:
    assert issubclass(DeviceError, GptSovitsError)
    assert issubclass(DeviceError, ValueError)


def test_device_cuda_request_is_checked() -> None:
    if HAS_CUDA:
        # A device index past the last GPU is named in the error.
        with pytest.raises(DeviceError, match="GPU"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    else:
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda")


def test_device_threads_kept_or_set() -> None:
    current = torch.get_num_threads()
    assert set_torch_threads(None) == current
    assert set_torch_threads(current) == current
    with pytest.raises(DeviceError, match="at least 1"):
        set_torch_threads(0)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize(
    ("precision", "dtype"),
    [("auto", torch.float16), ("fp16", torch.float16), ("bf16", torch.bfloat16), ("fp32", torch.float32)],
)
def test_device_gpu_precisions(precision: str, dtype: torch.dtype) -> None:
    placement = resolve("cuda", precision)
    assert placement.device.type == "cuda"
    assert placement.dtype == dtype
