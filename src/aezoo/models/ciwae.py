"""ciwae: the combination importance-weighted autoencoder (Rainforth et al. 2018), a conv VAE trained on minus
beta x ELBO_K + (1 - beta) x IWAE_K on the same ``k`` draws per image: beta=1 is the K-sample ELBO (a VAE with
a Monte-Carlo KL averaged over K draws), beta=0 the IWAE bound."""
from __future__ import annotations

from typing import Sequence

import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import bound_mix, positive_int, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import iw_bound
from aezoo.models.assemble import assemble
from aezoo.models.iwae import importance_terms


class CIWAEBound(Objective):
    """-(beta ELBO_K + (1 - beta) IWAE_K) with ``k`` draws per image. ``neg_elbo`` and ``neg_iw_bound`` are the two
    bounds it mixes; ``reconstruction`` and ``kl`` (averaged over the draws) are measurements."""

    diagnostics = ("reconstruction", "kl")

    def __init__(self, k: int = 16, beta: float = 0.5):
        super().__init__()
        self.k, self.beta = positive_int("k", k), bound_mix(k, weight("beta", beta))

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        log_px, log_pz, log_qz = importance_terms(model, batch, self.k)
        neg_elbo = -(log_px + log_pz - log_qz).mean(0).mean()
        neg_iw = -iw_bound(log_px, log_pz, log_qz).mean()
        loss = self.beta * neg_elbo + (1 - self.beta) * neg_iw
        return loss, {"neg_elbo": neg_elbo, "neg_iw_bound": neg_iw, "reconstruction": -log_px.mean(),
                      "kl": (log_qz - log_pz).mean()}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], k: int, beta: float,
          likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian", objective=CIWAEBound(k, beta),
                    likelihood=likelihood)
