"""capacity-vae: the beta-VAE with a controlled capacity increase (Burgess et al. 2018, "Understanding
disentangling in beta-VAE"), a conv VAE trained on -log p(x|z) + gamma |KL(q(z|x) || p(z)) - C| per image, the
target capacity C (nats) raised linearly from 0 to ``capacity`` over the first ``capacity_steps`` optimiser steps
(0: at ``capacity`` from the start). With C = 0 it is the beta-VAE with beta = gamma. The absolute value is taken
per image, as the paper's per-x objective and pythae's DisentangledBetaVAE do (not of the batch's mean KL).

The paper's dSprites setting is gamma = 1000 and C from 0 to 25 nats over 100,000 iterations. The defaults, gamma =
10 and C up to 5 nats over 2000 steps (half of a default run on digits), suit 8x8 digits, on which a conv VAE
spends about 3.5 nats of KL: there gamma = 30 or more met |KL - C| by shrinking the posterior variances while the
means carried nothing (no active unit), and a C well above what the images need is spent on noisier codes."""
from __future__ import annotations

from typing import Sequence

import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import count, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import kl_to_prior
from aezoo.models.assemble import assemble


class CapacityLoss(Objective):
    """-log p(x|z) + ``gamma`` |KL - C| with C = ``capacity`` x min(1, step / ``capacity_steps``); the part
    ``capacity`` (C at this step) is a measurement."""

    diagnostics = ("capacity",)

    def __init__(self, gamma: float = 10.0, capacity: float = 5.0, capacity_steps: int = 2000):
        super().__init__()
        self.gamma, self.capacity = weight("gamma", gamma), weight("capacity", capacity)
        self.capacity_steps = count("capacity_steps", capacity_steps)

    def target(self, step: Step) -> float:
        """C at this step: 0 -> ``capacity`` linearly over ``capacity_steps`` steps, then constant."""
        return self.capacity * step.ramp(self.capacity_steps)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        kl = kl_to_prior(out.q, model.prior, out.z)  # per image
        c = self.target(step)
        loss = rec + self.gamma * (kl - c).abs().mean()
        return loss, {"reconstruction": rec, "kl": kl.mean(), "capacity": rec.new_tensor(c)}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], gamma: float,
          capacity: float, capacity_steps: int, likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian",
                    objective=CapacityLoss(gamma, capacity, capacity_steps), likelihood=likelihood)
