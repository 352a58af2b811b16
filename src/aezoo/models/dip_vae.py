"""dip-vae: the disentangled inferred prior VAE (Kumar, Sattigeri & Balakrishnan 2018), a conv VAE trained on the
ELBO plus a penalty pulling the covariance C of the aggregate posterior towards I, estimated on the minibatch:
lambda_od sum_{i != j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2. ``dip_type`` 'i': C = Cov[mu(x)], the covariance of
the posterior means; 'ii': C = Cov[mu(x)] + E[diag sigma^2(x)], the covariance of q(z) itself. The paper's weights
are lambda_d = 10 lambda_od for type i and lambda_d = lambda_od for type ii. The covariance is the biased (1/N) one
of the batch, as in the paper's code; its rank is at most N - 1, so keep the batch well above ``latent_dim``."""
from __future__ import annotations

from typing import Sequence

import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import DIP_TYPES, one_of, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import kl_to_prior
from aezoo.models.assemble import assemble


def dip_covariance(mu: torch.Tensor, logvar: torch.Tensor, dip_type: str) -> torch.Tensor:
    """The batch estimate of the covariance the penalty pulls towards I: (D, D), in at least float32 whatever the
    autocast (bfloat16 would round a diagonal near 1 to steps of 1/128)."""
    dtype = torch.promote_types(mu.dtype, torch.float32)
    with torch.autocast(mu.device.type, enabled=False):
        mu, logvar = mu.to(dtype), logvar.to(dtype)
        cov = torch.cov(mu.T, correction=0).reshape(mu.shape[1], mu.shape[1])  # (D, D) also when D = 1
        if dip_type == "ii":
            cov = cov + torch.diag(logvar.exp().mean(0))
    return cov


def dip_penalties(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of the squared off-diagonal entries, sum of the squared differences of the diagonal from 1)."""
    diagonal = torch.diagonal(cov)
    return (cov - torch.diag(diagonal)).pow(2).sum(), (diagonal - 1).pow(2).sum()


class DIPLoss(Objective):
    """-ELBO (closed-form KL) + ``lambda_od`` x off-diagonal + ``lambda_d`` x diagonal penalty of the batch
    covariance (added once per batch, as the paper does)."""

    def __init__(self, dip_type: str = "i", lambda_od: float = 10.0, lambda_d: float = 100.0):
        super().__init__()
        self.dip_type = one_of("dip_type", dip_type, DIP_TYPES)
        self.lambda_od, self.lambda_d = weight("lambda_od", lambda_od), weight("lambda_d", lambda_d)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        kl = kl_to_prior(out.q, model.prior, out.z).mean()
        off_diagonal, diagonal = dip_penalties(dip_covariance(out.q.mu, out.q.logvar, self.dip_type))
        loss = rec + kl + self.lambda_od * off_diagonal + self.lambda_d * diagonal
        return loss, {"reconstruction": rec, "kl": kl, "off_diagonal": off_diagonal, "diagonal": diagonal}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], dip_type: str,
          lambda_od: float, lambda_d: float, likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian",
                    objective=DIPLoss(dip_type, lambda_od, lambda_d), likelihood=likelihood)
