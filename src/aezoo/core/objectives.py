"""Reconstruction losses and the (beta-)ELBO, all as mean over the batch of per-image sums (nats)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from aezoo.core.interfaces import Objective, Output

LIKELIHOODS = ("bernoulli", "gaussian")


def reconstruction_error(logits: torch.Tensor, target: torch.Tensor, likelihood: str) -> torch.Tensor:
    """Per-image negative log-likelihood up to a constant: BCE for ``bernoulli``, squared error for ``gaussian``."""
    if likelihood == "bernoulli":
        per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    elif likelihood == "gaussian":
        per_pixel = (torch.sigmoid(logits) - target).pow(2)
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}; expected one of {', '.join(LIKELIHOODS)}")
    return per_pixel.flatten(1).sum(1)


def batch_reconstruction_error(logits: torch.Tensor, target: torch.Tensor, likelihood: str) -> torch.Tensor:
    """``reconstruction_error(...).mean()`` computed as one summed reduction (no per-pixel tensor kept)."""
    if likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / target.shape[0]
    if likelihood == "gaussian":
        return F.mse_loss(torch.sigmoid(logits), target, reduction="sum") / target.shape[0]
    raise ValueError(f"unknown likelihood {likelihood!r}; expected one of {', '.join(LIKELIHOODS)}")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form KL(N(mu, exp(logvar)) || N(0, I)) per image."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


class Reconstruction(Objective):
    """Plain autoencoder loss: reconstruction error only."""

    def __init__(self, likelihood: str = "bernoulli"):
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {likelihood!r}; expected one of {', '.join(LIKELIHOODS)}")
        self.likelihood = likelihood

    def forward(self, target: torch.Tensor, out: Output) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        rec = batch_reconstruction_error(out.logits, target, self.likelihood)
        return rec, {"reconstruction": rec}


class ELBO(Reconstruction):
    """Negative evidence lower bound with a ``beta`` weight on the KL term (beta=1: the VAE)."""

    def __init__(self, likelihood: str = "bernoulli", beta: float = 1.0):
        super().__init__(likelihood)
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def forward(self, target: torch.Tensor, out: Output) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if out.logvar is None:
            raise ValueError("ELBO needs a variational encoder that returns (mu, logvar)")
        rec = batch_reconstruction_error(out.logits, target, self.likelihood)
        kl = gaussian_kl(out.mu, out.logvar).sum() / target.shape[0]
        return rec + self.beta * kl, {"reconstruction": rec, "kl": kl}
