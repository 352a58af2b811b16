"""factor-vae: FactorVAE (Kim & Mnih 2018), a conv VAE trained on the ELBO plus gamma x the total correlation of
the aggregate posterior, TC = KL(q(z) || prod_j q(z_j)), estimated by a discriminator D as E_q(z)[log D(z) / (1 - D(z))];
the discriminator trains with its own Adam optimiser."""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import positive, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import frozen, kl_to_prior
from aezoo.models.assemble import assemble
from aezoo.nets.discriminators import code_discriminator


def permute_dims(z: torch.Tensor) -> torch.Tensor:
    """Each latent dimension shuffled independently across the batch: draws from prod_j q(z_j)."""
    order = torch.argsort(torch.rand(z.shape, device=z.device), dim=0)
    return torch.gather(z, 0, order)


def discriminator_loss(discriminator: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of telling codes ``z`` from q(z) (label 1) from their permutation (label 0): at its optimum
    the logit is log q(z) / prod_j q(z_j), whose mean over q(z) is the total correlation."""
    joint, product = discriminator(z), discriminator(permute_dims(z))
    return 0.5 * (F.binary_cross_entropy_with_logits(joint, torch.ones_like(joint))
                  + F.binary_cross_entropy_with_logits(product, torch.zeros_like(product)))


class FactorVAEObjective(Objective):
    """-ELBO + gamma x TC. The discriminator's logit is log D/(1 - D) (D: the probability that a code comes from
    q(z) rather than from its dimension-wise permutation); it learns from detached codes (part ``discriminator``),
    and the model's TC term sees it frozen, so that each loss trains only its own network."""

    aux_losses = ("discriminator",)

    def __init__(self, gamma: float):
        super().__init__()
        self.gamma = weight("gamma", gamma)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        kl = kl_to_prior(out.q, model.prior, out.z).mean()
        discriminator = model.aux["discriminator"]
        tc = frozen(discriminator, out.z).mean()
        d_loss = discriminator_loss(discriminator, out.z.detach())
        return rec + kl + self.gamma * tc, {"reconstruction": rec, "kl": kl, "tc": tc, "discriminator": d_loss}

    def eval_metrics(self, model: AutoEncoder, x: torch.Tensor, q: Any) -> dict[str, torch.Tensor]:
        """``discriminator_tc``: the discriminator's estimate of the total correlation of q(z) (nats)."""
        z = q.sample(generator=torch.Generator().manual_seed(0))
        return {"discriminator_tc": model.aux["discriminator"](z).mean()}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], gamma: float,
          disc_hidden: Sequence[int], disc_lr: float, likelihood: str) -> AutoEncoder:
    optimizer = {"optimizer": "adam", "lr": positive("disc_lr", disc_lr), "betas": (0.5, 0.9)}
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian",
                    objective=FactorVAEObjective(gamma), likelihood=likelihood,
                    aux={"discriminator": code_discriminator(latent_dim, disc_hidden)},
                    aux_optimizers={"discriminator": optimizer})
