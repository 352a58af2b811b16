"""``res-conv-vae``: stride-2 convolutions each followed by residual blocks, a Gaussian latent, and a mirrored
decoder; trained with aezoo's ELBO. Imported only when the model is built (it imports torch)."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.interfaces import Decoder, Encoder
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import GaussianPosterior


class ResidualBlock(nn.Module):
    """``x + conv1x1(relu(conv3x3(relu(x))))``: keeps channels and size."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, 1, 1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def halved(size: int, times: int) -> int:
    """Spatial size after ``times`` stride-2 4x4 convolutions with padding 1."""
    for _ in range(times):
        size = (size + 2 - 4) // 2 + 1
    return size


def check_shape(input_shape: tuple[int, int, int], channels: Sequence[int], blocks: int) -> None:
    """Raise ValueError for settings this architecture cannot take."""
    if not channels or min(channels) < 1:
        raise ValueError(f"channels must be positive integers, got {tuple(channels)!r}")
    if blocks < 0:
        raise ValueError(f"blocks must be >= 0, got {blocks}")
    if min(input_shape[1:]) < 2 ** len(channels):
        raise ValueError(f"input {input_shape[1]}x{input_shape[2]} is too small for {len(channels)} stride-2 "
                         f"stages; use fewer channels entries, e.g. channels={tuple(channels[:1])}")


class ResConvEncoder(Encoder):
    """(N, C, H, W) -> (mu, logvar), each (N, latent_dim): the parameters of a Gaussian posterior."""

    def __init__(self, input_shape: tuple[int, int, int], channels: Sequence[int], blocks: int, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        layers: list[nn.Module] = []
        c_in = input_shape[0]
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), *(ResidualBlock(c_out) for _ in range(blocks))]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.ReLU(), nn.Flatten())
        flat = c_in * halved(input_shape[1], len(channels)) * halved(input_shape[2], len(channels))
        self.mu = nn.Linear(flat, latent_dim)
        self.logvar = nn.Linear(flat, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class ResConvDecoder(Decoder):
    """(N, latent_dim) -> logits (N, C, H, W): residual blocks then a stride-2 transposed convolution per stage,
    cropped to the input size when that is not a multiple of 2**stages."""

    def __init__(self, input_shape: tuple[int, int, int], channels: Sequence[int], blocks: int, latent_dim: int):
        super().__init__()
        c, h, w = input_shape
        k = len(channels)
        self.out_hw = (h, w)
        start = (math.ceil(h / 2**k), math.ceil(w / 2**k))
        self.fc = nn.Linear(latent_dim, channels[-1] * start[0] * start[1])
        layers: list[nn.Module] = [nn.Unflatten(1, (channels[-1], *start))]
        rev = list(reversed(channels))
        for c_in, c_out in zip(rev, [*rev[1:], c]):
            layers += [*(ResidualBlock(c_in) for _ in range(blocks)), nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)]
        self.body = nn.Sequential(*layers)
        self.crop = (start[0] * 2**k, start[1] * 2**k) != self.out_hw

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.body(self.fc(z))
        return out[:, :, : self.out_hw[0], : self.out_hw[1]] if self.crop else out


def build(input_shape: tuple[int, int, int], latent_dim: int = 16, channels: tuple[int, ...] = (32, 64),
          blocks: int = 1, beta: float = 1.0, likelihood: str = "bernoulli") -> AutoEncoder:
    """The aezoo factory: a residual conv VAE for ``input_shape`` (C, H, W)."""
    channels = tuple(int(c) for c in channels)  # a reloaded run's JSON gives a list
    check_shape(input_shape, channels, int(blocks))
    if int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    encoder = ResConvEncoder(input_shape, channels, int(blocks), int(latent_dim))
    decoder = ResConvDecoder(input_shape, channels, int(blocks), int(latent_dim))
    return AutoEncoder(encoder, decoder, ELBO(beta=beta), input_shape, posterior=GaussianPosterior(int(latent_dim)),
                       likelihood=likelihood)
