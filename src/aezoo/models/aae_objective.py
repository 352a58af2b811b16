"""The adversarial autoencoder's objective (Makhzani et al. 2016): reconstruction plus a generator loss that
pushes the codes towards the prior, judged by a discriminator that tells prior draws ("real") from codes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import frozen, imq_mmd

if TYPE_CHECKING:
    from aezoo.core.autoencoder import AutoEncoder


class AdversarialObjective(Objective):
    """-log p(x|z) + ``weight`` x (-log D(z)), the non-saturating generator loss with the discriminator frozen;
    the discriminator learns from prior draws (label 1) and detached codes (label 0): part ``discriminator``."""

    aux_losses = ("discriminator",)

    def __init__(self, weight: float):
        super().__init__()
        self.weight = float(weight)

    def forward(self, model: "AutoEncoder", batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        discriminator = model.aux["discriminator"]
        fooled = frozen(discriminator, out.z)
        generator = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
        real, fake = discriminator(model.prior.sample(len(out.z)).to(out.z)), discriminator(out.z.detach())
        d_loss = 0.5 * (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        return rec + self.weight * generator, {"reconstruction": rec, "adversarial": generator, "discriminator": d_loss}

    def eval_metrics(self, model: "AutoEncoder", x: torch.Tensor, q: Any) -> dict[str, torch.Tensor]:
        """``mmd``: IMQ-kernel MMD^2 between the codes and as many prior draws (0 when they match)."""
        if len(x) < 2:
            return {}
        draws = model.prior.sample(len(x), generator=torch.Generator().manual_seed(0)).to(q.mean)
        return {"mmd": imq_mmd(q.mean, draws)}
