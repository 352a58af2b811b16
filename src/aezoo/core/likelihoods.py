"""Likelihoods p(x|z): how decoder logits score an image. Training objectives and evaluation use the same one."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aezoo.core.checks import LIKELIHOODS, one_of



class Likelihood(nn.Module):
    """p(x|z) given decoder logits shaped like the images."""

    name = "likelihood"

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        """The expected image, pixel values in [0, 1]."""
        return torch.sigmoid(logits)

    def log_prob(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per image (summed over pixels): shape ``logits.shape[:-3]``."""
        raise NotImplementedError

    def nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of -log p(x|z), as one summed reduction (the training path)."""
        return -self.log_prob(logits, x).mean()


class Bernoulli(Likelihood):
    """Each pixel a Bernoulli (continuous pixels give the usual BCE with logits)."""

    name = "bernoulli"

    def log_prob(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        x = x.expand_as(logits)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(-3).sum(-1)

    def nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / logits.shape[0]


class Gaussian(Likelihood):
    """Each pixel N(sigmoid(logit), sigma^2). ``sigma`` fixed (default 1/sqrt(2): -log p is the squared error plus
    a constant), or ``learned``: one log-sigma per pixel, trained with the model."""

    name = "gaussian"

    def __init__(self, input_shape: tuple[int, int, int], sigma: float = 1 / math.sqrt(2), learned: bool = False):
        super().__init__()
        if not (sigma > 0 and math.isfinite(sigma)):
            raise ValueError(f"sigma must be a positive number, got {sigma}")
        log_sigma = torch.full(tuple(input_shape), math.log(sigma))
        self.learned, self.fixed_log_sigma = bool(learned), math.log(sigma)  # a float: no device read per step
        if learned:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma, persistent=False)

    def log_prob(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        mean, log_sigma = torch.sigmoid(logits), self.log_sigma.to(logits.dtype)
        per_pixel = -0.5 * (x - mean).pow(2) * torch.exp(-2 * log_sigma) - log_sigma - 0.5 * math.log(2 * math.pi)
        return per_pixel.flatten(-3).sum(-1)

    def nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.learned:
            return super().nll(logits, x)
        n = logits.shape[0]
        scale = math.exp(-2 * self.fixed_log_sigma)
        const = x[0].numel() * (self.fixed_log_sigma + 0.5 * math.log(2 * math.pi))
        return 0.5 * scale * F.mse_loss(torch.sigmoid(logits), x, reduction="sum") / n + const


def make_likelihood(name: str | Likelihood, input_shape: tuple[int, int, int], **options) -> Likelihood:
    """A likelihood by name: ``bernoulli``, ``gaussian`` (``sigma=``, ``learned=``); instances pass through."""
    if isinstance(name, Likelihood):
        return name
    if one_of("likelihood", name, LIKELIHOODS) == "bernoulli":
        return Bernoulli()
    return Gaussian(input_shape, **options)
