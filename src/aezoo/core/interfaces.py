"""The parts an autoencoder is assembled from that a family writes itself: an Encoder, a Decoder and an
Objective, plus the small records passed between them (Output, Batch, Step)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class Output:
    """One forward pass: the posterior q(z|x), one code ``z`` drawn from it, and the decoder's ``logits``."""

    logits: torch.Tensor  # decoder output, shaped like the input; the likelihood's mean gives pixel values
    z: torch.Tensor  # the code that was decoded
    q: Any  # a GaussianQ, PointQ or QuantisedQ (aezoo.core.posteriors)

    @property
    def mu(self) -> torch.Tensor:
        """The posterior mean (the code, for a deterministic encoder)."""
        return self.q.mean

    @property
    def logvar(self) -> torch.Tensor | None:
        return getattr(self.q, "logvar", None)


@dataclass
class Batch:
    """A training or validation batch: the clean images ``x`` (the target), what the encoder sees (``inputs``: a
    corrupted copy when training a denoising or inpainting model, else ``x`` itself), and the class labels ``y``
    (N,) int64 for a conditional model (``model.capabilities.conditional``); None for a model that reads none."""

    x: torch.Tensor
    inputs: torch.Tensor
    y: torch.Tensor | None = None


@dataclass
class Step:
    """Where training stands, for schedules such as KL warm-up: optimiser steps done, of ``total``."""

    step: int = 0
    epoch: int = 0
    total: int = 1

    def ramp(self, steps: int) -> float:
        """0 -> 1 linearly over the first ``steps`` steps (1 when ``steps`` is 0, and outside training)."""
        return 1.0 if steps <= 0 else min(1.0, self.step / steps)


DONE = Step(step=1 << 62, total=1 << 62)  # outside training: every schedule has finished


class Encoder(nn.Module, ABC):
    """Maps a batch (N, C, H, W) to what the model's posterior takes: a code (N, latent_dim), or for a Gaussian
    posterior the pair ``(mu, logvar)``, each (N, latent_dim). A ``conditional`` encoder is called
    ``forward(x, y)`` with the images' class labels ``y`` (N,) int64."""

    latent_dim: int
    conditional: bool = False

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]: ...


class Decoder(nn.Module, ABC):
    """Maps codes (N, latent_dim) to logits (N, C, H, W); the model's likelihood turns them into images. A
    ``conditional`` decoder is called ``forward(z, y)`` with class labels ``y`` (N,) int64."""

    conditional: bool = False

    @abstractmethod
    def forward(self, z: torch.Tensor) -> torch.Tensor: ...


class Objective(nn.Module, ABC):
    """The training loss of a family. ``forward(model, batch, step)`` (``model``: the AutoEncoder of
    aezoo.core.autoencoder) returns ``(loss, parts)``: the scalar the model minimises (mean per image) and its
    named parts for the logs.

    - ``conditional``: the objective reads the class labels ``batch.y`` (a model is conditional when its encoder,
      decoder or objective is; aezoo then hands it labels everywhere, and refuses unlabelled data).
    - ``diagnostics``: names of parts that are measurements, not loss terms (plots keep them off the loss axis).
    - ``aux_losses``: names of parts that train an auxiliary network with its own optimiser (a discriminator):
      the Trainer adds them to the loss it back-propagates; they must not reach the model's own parameters
      (compute them on detached codes) and the model's loss must not reach theirs (``aezoo.core.objectives.frozen``).
    - ``likelihood_unused``: empty when the loss is built on the model's likelihood log p(x|z); otherwise why it is
      not (a loss on discriminator features, on MS-SSIM): evaluation then reports the pixel -log p(x|z), -ELBO and
      IW-NLL as not applicable with this reason, since they would score a likelihood the model never fitted.
    - ``comparable_loss``: whether the validation loss of one epoch can be compared with another's. False when it is
      measured by a network that trains too (a discriminator's features): the Trainer then keeps the last epoch's
      weights instead of the best validation epoch's, and never stops early.
    """

    conditional: bool = False
    diagnostics: tuple[str, ...] = ()
    aux_losses: tuple[str, ...] = ()
    likelihood_unused: str = ""
    comparable_loss: bool = True

    @abstractmethod
    def forward(self, model: nn.Module, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        ...
