"""The three parts every autoencoder is made of: an Encoder, a Decoder and an Objective."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Output:
    """What a forward pass produces. ``logvar`` is ``None`` for deterministic encoders."""

    logits: torch.Tensor  # decoder output before the sigmoid, shaped like the input
    z: torch.Tensor  # the latent code that was decoded
    mu: torch.Tensor  # the code (AE) or the posterior mean (VAE)
    logvar: torch.Tensor | None = None


class Encoder(nn.Module, ABC):
    """Maps a batch (N, C, H, W) to a code (N, latent_dim), or for a variational encoder to the
    parameters ``(mu, logvar)`` of a diagonal Gaussian, each (N, latent_dim)."""

    latent_dim: int
    variational: bool = False

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]: ...


class Decoder(nn.Module, ABC):
    """Maps codes (N, latent_dim) to reconstruction logits (N, C, H, W); ``sigmoid`` gives pixel values."""

    @abstractmethod
    def forward(self, z: torch.Tensor) -> torch.Tensor: ...


class Objective(nn.Module, ABC):
    """Turns a clean target batch and a model Output into a scalar loss (mean per image) and its named parts."""

    @abstractmethod
    def forward(self, target: torch.Tensor, out: Output) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...
