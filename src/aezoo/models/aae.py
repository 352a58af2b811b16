"""aae: the adversarial autoencoder (Makhzani et al. 2016), a conv autoencoder with a deterministic encoder trained on
reconstruction plus a generator loss that pushes the codes towards the prior N(0, I), judged by a discriminator that
tells prior draws ("real") from codes and trains with its own Adam optimiser; samples from the prior."""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import positive, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import frozen, imq_mmd
from aezoo.models.assemble import assemble
from aezoo.nets.discriminators import code_discriminator


class AdversarialObjective(Objective):
    """-log p(x|z) + ``adversarial_weight`` x (-log D(z)), the non-saturating generator loss with the discriminator
    frozen; the discriminator learns from prior draws (label 1) and detached codes (label 0): part ``discriminator``."""

    aux_losses = ("discriminator",)

    def __init__(self, adversarial_weight: float):
        super().__init__()
        self.weight = weight("adversarial_weight", adversarial_weight)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        discriminator = model.aux["discriminator"]
        fooled = frozen(discriminator, out.z)
        generator = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
        real, fake = discriminator(model.prior.sample(len(out.z)).to(out.z)), discriminator(out.z.detach())
        d_loss = 0.5 * (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        return rec + self.weight * generator, {"reconstruction": rec, "adversarial": generator, "discriminator": d_loss}

    def eval_metrics(self, model: AutoEncoder, x: torch.Tensor, q: Any) -> dict[str, torch.Tensor]:
        """``mmd``: IMQ-kernel MMD^2 between the codes and as many prior draws (0 when they match)."""
        if len(x) < 2:
            return {}
        draws = model.prior.sample(len(x), generator=torch.Generator().manual_seed(0)).to(q.mean)
        return {"mmd": imq_mmd(q.mean, draws)}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], adversarial_weight: float,
          disc_hidden: Sequence[int], disc_lr: float, likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="point",
                    objective=AdversarialObjective(adversarial_weight), likelihood=likelihood, sampler="prior",
                    aux={"discriminator": code_discriminator(latent_dim, disc_hidden)},
                    aux_optimizers={"discriminator": {"optimizer": "adam", "lr": positive("disc_lr", disc_lr)}})
