"""Standard-normal noise shaped like a request and placed like a given tensor, from a seeded generator or not."""
from __future__ import annotations

import torch


def normal(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """N(0, 1) draws of ``shape`` on ``like``'s device and dtype. With a ``generator`` (a CPU one, as every seeded
    caller makes) the draws are made on the CPU first, so a seed gives the same numbers on every device."""
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=like.dtype)
    return torch.randn(shape, generator=generator).to(like.device, like.dtype)
