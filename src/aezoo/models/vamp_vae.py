"""vamp-vae: a conv VAE with a VampPrior (Tomczak & Welling 2018), a mixture of its own posteriors at
``components`` learned pseudo-inputs; the KL term of the ELBO is a Monte-Carlo estimate against that prior."""
from __future__ import annotations

from typing import Sequence

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.objectives import ELBO
from aezoo.core.priors import VampPrior
from aezoo.models.assemble import assemble


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], components: int,
          beta: float, likelihood: str, warmup: int) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian",
                    prior=VampPrior(latent_dim, input_shape, components), objective=ELBO(beta=beta, warmup=warmup),
                    likelihood=likelihood)
