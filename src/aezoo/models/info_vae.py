"""info-vae: InfoVAE with the MMD divergence (Zhao et al. 2019): reconstruction + (1 - alpha) KL +
(alpha + lbd - 1) MMD(aggregate posterior, prior), the MMD with WAE's multi-scale IMQ kernel; ``zoo eval`` reports
that MMD."""
from __future__ import annotations

from typing import Any, Sequence

import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import finite, info_vae_weights, positive
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import imq_mmd, kl_to_prior
from aezoo.models.assemble import assemble

EVAL_SEED = 0  # prior draws for the evaluation MMD are seeded: `zoo eval` gives the same figure twice


class InfoMMD(Objective):
    """rec + (1 - alpha) KL(q(z|x) || p(z)) + (alpha + lbd - 1) MMD(z ~ q(z|x) over the batch, z ~ p(z)).
    alpha = 0, lbd = 1 is the VAE; alpha = 1 drops the KL (the MMD-VAE)."""

    def __init__(self, alpha: float = 0.0, lbd: float = 10.0, kernel_scale: float = 1.0):
        super().__init__()
        alpha, lbd, kernel_scale = finite("alpha", alpha), finite("lbd", lbd), positive("kernel_scale", kernel_scale)
        info_vae_weights(alpha, lbd)
        self.alpha, self.lbd, self.kernel_scale = alpha, lbd, kernel_scale

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        kl = kl_to_prior(out.q, model.prior, out.z).mean()
        mmd = imq_mmd(out.z, model.prior.sample(len(out.z)).to(out.z.dtype), self.kernel_scale)
        loss = rec + (1 - self.alpha) * kl + (self.alpha + self.lbd - 1) * mmd
        return loss, {"reconstruction": rec, "kl": kl, "mmd": mmd}

    def eval_metrics(self, model: AutoEncoder, x: torch.Tensor, q: Any) -> dict[str, torch.Tensor]:
        """``mmd``: MMD^2 between draws of the aggregate posterior (one per image) and as many prior draws."""
        if len(x) < 2:
            return {}
        generator = torch.Generator().manual_seed(EVAL_SEED)
        z = q.sample(generator=generator)
        prior = model.prior.sample(len(z), generator=generator).to(z.device, z.dtype)
        return {"mmd": imq_mmd(z, prior, self.kernel_scale)}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], alpha: float, lbd: float,
          kernel_scale: float, likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian",
                    objective=InfoMMD(alpha, lbd, kernel_scale), likelihood=likelihood)
