"""The InfoVAE-MMD objective and its evaluation metric, MMD between the aggregate posterior and the prior."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import imq_mmd, kl_to_prior

if TYPE_CHECKING:
    from aezoo.core.autoencoder import AutoEncoder

EVAL_SEED = 0  # prior draws for the evaluation MMD are seeded: `zoo eval` gives the same figure twice


class InfoMMD(Objective):
    """rec + (1 - alpha) KL(q(z|x) || p(z)) + (alpha + lbd - 1) MMD(z ~ q(z|x) over the batch, z ~ p(z)).
    alpha = 0, lbd = 1 is the VAE; alpha = 1 drops the KL (the MMD-VAE)."""

    def __init__(self, alpha: float = 0.0, lbd: float = 10.0, kernel_scale: float = 1.0):
        super().__init__()
        for name, value in (("alpha", alpha), ("lbd", lbd), ("kernel_scale", kernel_scale)):
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
        if alpha > 1 or alpha + lbd - 1 < 0 or kernel_scale <= 0:
            raise ValueError(f"InfoVAE needs alpha <= 1, alpha + lbd >= 1 (weights 1 - alpha on the KL and "
                             f"alpha + lbd - 1 on the MMD must not be negative) and kernel_scale > 0; "
                             f"got alpha={alpha}, lbd={lbd}, kernel_scale={kernel_scale}")
        self.alpha, self.lbd, self.kernel_scale = float(alpha), float(lbd), float(kernel_scale)

    def forward(self, model: "AutoEncoder", batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        kl = kl_to_prior(out.q, model.prior, out.z).mean()
        mmd = imq_mmd(out.z, model.prior.sample(len(out.z)).to(out.z.dtype), self.kernel_scale)
        loss = rec + (1 - self.alpha) * kl + (self.alpha + self.lbd - 1) * mmd
        return loss, {"reconstruction": rec, "kl": kl, "mmd": mmd}

    def eval_metrics(self, model: "AutoEncoder", x: torch.Tensor, q: Any) -> dict[str, torch.Tensor]:
        """``mmd``: MMD^2 between draws of the aggregate posterior (one per image) and as many prior draws."""
        if len(x) < 2:
            return {}
        generator = torch.Generator().manual_seed(EVAL_SEED)
        z = q.sample(generator=generator)
        prior = model.prior.sample(len(z), generator=generator).to(z.device, z.dtype)
        return {"mmd": imq_mmd(z, prior, self.kernel_scale)}
