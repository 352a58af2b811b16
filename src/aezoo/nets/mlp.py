"""Fully connected encoders and decoders for inputs of any shape (C, H, W)."""
from __future__ import annotations

import math

import torch
from torch import nn

from aezoo.core.interfaces import Decoder, Encoder


def _stack(sizes: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return layers


class MLPEncoder(Encoder):
    """Flatten, ReLU layers of widths ``hidden``, then a code; with ``gaussian`` also a log-variance: (mu, logvar)."""

    def __init__(self, input_shape: tuple[int, int, int], hidden: tuple[int, ...], latent_dim: int,
                 gaussian: bool = False):
        super().__init__()
        self.latent_dim = latent_dim
        sizes = [math.prod(input_shape), *hidden]
        self.body = nn.Sequential(nn.Flatten(), *_stack(sizes))
        self.mu = nn.Linear(sizes[-1], latent_dim)
        self.logvar = nn.Linear(sizes[-1], latent_dim) if gaussian else None

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return (self.mu(h), self.logvar(h)) if self.logvar is not None else self.mu(h)


class MLPDecoder(Decoder):
    def __init__(self, input_shape: tuple[int, int, int], hidden: tuple[int, ...], latent_dim: int):
        super().__init__()
        sizes = [latent_dim, *reversed(hidden)]
        self.body = nn.Sequential(*_stack(sizes), nn.Linear(sizes[-1], math.prod(input_shape)),
                                  nn.Unflatten(1, tuple(input_shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)
