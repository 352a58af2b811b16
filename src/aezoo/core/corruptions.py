"""Input corruptions for denoising and inpainting training; each maps a [0, 1] batch to a corrupted copy."""
from __future__ import annotations

import torch
from torch import nn

from aezoo.core.checks import corruption_level, one_of


class GaussianNoise(nn.Module):
    """Additive Gaussian noise of standard deviation ``std``, clipped back to [0, 1]."""

    def __init__(self, std: float = 0.3):
        super().__init__()
        self.std = float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.std * torch.randn_like(x)).clamp_(0, 1)


class SaltAndPepper(nn.Module):
    """A fraction ``amount`` of pixels set to 0 or 1 at random."""

    def __init__(self, amount: float = 0.2):
        super().__init__()
        self.amount = float(amount)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = torch.rand_like(x)
        out = x.clone()
        out[u < self.amount / 2] = 0.0
        out[(u >= self.amount / 2) & (u < self.amount)] = 1.0
        return out


class PixelDropout(nn.Module):
    """Each pixel (all channels together) dropped to 0 with probability ``p``."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = float(p)

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """A random mask (N, 1, H, W), True where a pixel is dropped."""
        return torch.rand(x.shape[0], 1, *x.shape[2:], device=x.device) < self.p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * ~self.mask(x)


class BlockMask(nn.Module):
    """One square block per image, of side ``size`` x the shorter image side, set to 0 at a random place."""

    def __init__(self, size: float = 0.4):
        super().__init__()
        self.size = float(size)

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """A random mask (N, 1, H, W), True inside each image's block."""
        n, _, h, w = x.shape
        side = max(1, round(self.size * min(h, w)))
        top = torch.randint(0, h - side + 1, (n,), device=x.device)
        left = torch.randint(0, w - side + 1, (n,), device=x.device)
        rows = torch.arange(h, device=x.device)
        cols = torch.arange(w, device=x.device)
        in_rows = (rows[None] >= top[:, None]) & (rows[None] < top[:, None] + side)
        in_cols = (cols[None] >= left[:, None]) & (cols[None] < left[:, None] + side)
        return (in_rows[:, :, None] & in_cols[:, None, :])[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * ~self.mask(x)


CORRUPTIONS = {"gaussian": GaussianNoise, "salt-pepper": SaltAndPepper, "pixels": PixelDropout, "block": BlockMask}


def make_corruption(kind: str, level: float) -> nn.Module:
    """Build a corruption by name: ``gaussian`` (std), ``salt-pepper`` (fraction), ``pixels`` (p), ``block`` (size)."""
    level = corruption_level("level", one_of("corruption", kind, tuple(CORRUPTIONS)), level)
    corruption = CORRUPTIONS[kind](level)
    corruption.kind, corruption.level = kind, level  # read by commands that show the corruption
    return corruption
