"""gumbel-vae: a conv VAE with categorical latents (Jang et al. 2016; Maddison et al. 2016): ``latent_dim``
independent categorical variables of ``categories`` values each, a uniform categorical prior, trained by decoding
Gumbel-softmax (concrete) draws whose temperature is annealed by optimiser step, optionally straight-through.

What the numbers mean: training minimises -log p(x | relaxed draw) + KL(q || uniform), the discrete KL in closed
form, sum over variables of log K - H(q_v) (as Jang et al. train). Validation and ``zoo eval`` score the discrete
model: they decode exact one-hot draws, so ``neg_elbo`` is -E_q[log p(x|c)] + KL and ``iw_nll`` the importance-
weighted bound with the categorical posterior as the proposal, log w = log p(x|c) + log p(c) - log q(c|x): both
are bounds on -log p(x) of the model "uniform categorical prior + decoder of one-hot codes". The relaxed loss
(``train_loss``) depends on the temperature and is no likelihood bound.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import flag, positive, positive_int, temperatures, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import kl_to_prior
from aezoo.core.posteriors import CategoricalPosterior
from aezoo.core.priors import UniformCategorical
from aezoo.models.assemble import assemble


class GumbelELBO(Objective):
    """-log p(x|z) + KL(q(z|x) || uniform) per image, mean over the batch. Training decodes a Gumbel-softmax draw
    z at temperature ``temperature_at(step)`` (one-hot in value with ``straight_through``); out of training (the
    validation loss) an exact one-hot draw: the discrete -ELBO. Training logs the ``temperature`` as a diagnostic."""

    diagnostics = ("temperature",)

    def __init__(self, temperature: float = 1.0, min_temperature: float = 0.5, anneal_rate: float = 3e-4,
                 anneal_every: int = 500, straight_through: bool = False):
        super().__init__()
        self.temperature = positive("temperature", temperature)
        self.min_temperature = positive("min_temperature", min_temperature)
        temperatures(self.temperature, self.min_temperature)
        self.anneal_rate, self.anneal_every = weight("anneal_rate", anneal_rate), positive_int("anneal_every",
                                                                                              anneal_every)
        self.straight_through = flag("straight_through", straight_through)

    def temperature_at(self, step: Step) -> float:
        """Jang et al.'s schedule: max(min_temperature, temperature * exp(-anneal_rate * t)), t the optimiser step
        rounded down to a multiple of ``anneal_every`` (the temperature changes every ``anneal_every`` steps)."""
        t = (step.step // self.anneal_every) * self.anneal_every
        return max(self.min_temperature, self.temperature * math.exp(-self.anneal_rate * t))

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        q = model.infer(batch.inputs)
        tau = self.temperature_at(step)
        z = q.relaxed(tau, hard=self.straight_through) if model.training else q.sample()
        rec = model.likelihood.nll(model.decoder(z), batch.x)
        kl = kl_to_prior(q, model.prior, z).mean()
        parts = {"reconstruction": rec, "kl": kl}
        if model.training:
            parts["temperature"] = rec.new_tensor(tau)
        return rec + kl, parts


def build(input_shape: tuple[int, int, int], *, latent_dim: int, categories: int, channels: Sequence[int],
          temperature: float, min_temperature: float, anneal_rate: float, anneal_every: int, straight_through: bool,
          likelihood: str) -> AutoEncoder:
    """``latent_dim`` categorical variables of ``categories`` values: the encoder gives their logits and the
    decoder reads their one-hot codes, ``latent_dim * categories`` numbers."""
    posterior = CategoricalPosterior(latent_dim, categories)
    objective = GumbelELBO(temperature, min_temperature, anneal_rate, anneal_every, straight_through)
    return assemble(input_shape, posterior.latent_dim, channels=channels, posterior=posterior,
                    prior=UniformCategorical(latent_dim, categories), objective=objective, likelihood=likelihood,
                    sampler="prior")
