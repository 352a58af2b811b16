"""The variational autoencoders trained on the (beta-)ELBO: vae (the classic tutorial model: MLP, ``hidden``,
2-D latent), conv-vae (``channels``) and beta-vae (conv, the KL term weighted by beta = 4 for a more
disentangled latent; Higgins et al. 2017). ``warmup``: optimiser steps over which the KL weight ramps up from 0."""
from __future__ import annotations

from typing import Sequence

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.objectives import ELBO
from aezoo.models.assemble import assemble


def build(input_shape: tuple[int, int, int], *, latent_dim: int, beta: float, likelihood: str, warmup: int,
          hidden: Sequence[int] | None = None, channels: Sequence[int] | None = None) -> AutoEncoder:
    """A Gaussian-posterior MLP (``hidden``) or conv (``channels``) VAE."""
    return assemble(input_shape, latent_dim, hidden=hidden, channels=channels, posterior="gaussian",
                    objective=ELBO(beta=beta, warmup=warmup), likelihood=likelihood)
