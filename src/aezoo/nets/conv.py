"""Convolutional encoders and decoders: stride-2 4x4 convolutions that halve the image per layer."""
from __future__ import annotations

import math

import torch
from torch import nn

from aezoo.core.interfaces import Decoder, Encoder
from aezoo.nets.image_deconv import ImageConvTranspose2d


def halved(size: int, times: int) -> int:
    """A side of ``size`` pixels after ``times`` stride-2 4x4 convolutions with padding 1."""
    for _ in range(times):
        size = (size + 2 - 4) // 2 + 1
    return size


def check_size(input_shape: tuple[int, int, int], channels: tuple[int, ...]) -> None:
    c, h, w = input_shape
    if min(h, w) < 2 ** len(channels):
        raise ValueError(
            f"input {h}x{w} is too small for {len(channels)} stride-2 conv layers; "
            f"use fewer channels entries (e.g. channels={tuple(channels[:1])}) or the mlp models"
        )


class ConvEncoder(Encoder):
    """Stride-2 conv layers of ``channels``, then a code; with ``gaussian`` also a log-variance: (mu, logvar);
    with ``extra`` also that many more numbers per image, last (a flow's parameters, a concentration)."""

    def __init__(self, input_shape: tuple[int, int, int], channels: tuple[int, ...], latent_dim: int,
                 gaussian: bool = False, extra: int = 0):
        super().__init__()
        check_size(input_shape, channels)
        self.latent_dim = latent_dim
        layers: list[nn.Module] = []
        c_in = input_shape[0]
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.ReLU()]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.Flatten())
        flat = c_in * halved(input_shape[1], len(channels)) * halved(input_shape[2], len(channels))
        self.mu = nn.Linear(flat, latent_dim)
        self.logvar = nn.Linear(flat, latent_dim) if gaussian else None
        self.extra = nn.Linear(flat, extra) if extra else None

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        h = self.body(x)
        heads = [head(h) for head in (self.mu, self.logvar, self.extra) if head is not None]
        return tuple(heads) if len(heads) > 1 else heads[0]


class ConvDecoder(Decoder):
    """Mirror of ConvEncoder: a linear layer to a small feature map, then stride-2 transposed convolutions (the
    last one an ImageConvTranspose2d); the result is cropped to the input size when that is not a multiple of
    2**layers."""

    def __init__(self, input_shape: tuple[int, int, int], channels: tuple[int, ...], latent_dim: int):
        super().__init__()
        check_size(input_shape, channels)
        c, h, w = input_shape
        k = len(channels)
        self.out_hw = (h, w)
        self.start = (math.ceil(h / 2**k), math.ceil(w / 2**k))
        self.fc = nn.Linear(latent_dim, channels[-1] * self.start[0] * self.start[1])
        layers: list[nn.Module] = [nn.ReLU(), nn.Unflatten(1, (channels[-1], *self.start))]
        rev = list(reversed(channels))
        for c_in, c_out in zip(rev, rev[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.ReLU()]
        layers.append(ImageConvTranspose2d(rev[-1], c, 4, 2, 1))  # to the image: on the faster CPU kernel
        self.body = nn.Sequential(*layers)
        self.crop = (self.start[0] * 2**k, self.start[1] * 2**k) != self.out_hw

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.body(self.fc(z))
        return out[:, :, : self.out_hw[0], : self.out_hw[1]] if self.crop else out
