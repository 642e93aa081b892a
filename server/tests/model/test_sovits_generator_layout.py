"""The HiFi-GAN ResBlocks give the same output in the channels-last ``[B, C, 1, T]`` layout."""

from __future__ import annotations

import pytest
import torch

from gpt_sovits.sovits.modules.generator import ResBlock, from_rows, to_rows


@pytest.mark.parametrize(("kernel", "dilations"), [(3, (1, 3, 5)), (7, (1, 3, 5)), (11, (1, 3, 5))])
def test_sovits_resblock_rows_layout_equals_plain(kernel: int, dilations: tuple[int, ...]) -> None:
    torch.manual_seed(kernel)
    block = ResBlock(16, kernel, dilations).eval()
    x = torch.randn(2, 16, 301)
    with torch.inference_mode():
        plain = block(x)
        rows = to_rows(x)
        assert rows.shape == (2, 16, 1, 301)
        assert rows.is_contiguous(memory_format=torch.channels_last)
        got = block(rows, torch.nn.functional.leaky_relu(rows, 0.1))
    assert got.dim() == 4
    torch.testing.assert_close(from_rows(got), plain, atol=1e-5, rtol=1e-5)
    assert from_rows(rows).is_contiguous()
    torch.testing.assert_close(from_rows(rows), x, atol=0, rtol=0)
