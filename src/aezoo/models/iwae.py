"""iwae: the importance-weighted autoencoder (Burda et al. 2015), a conv VAE trained on minus the K-sample bound
log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) (K=1: the ELBO with a Monte-Carlo KL)."""
from __future__ import annotations

from typing import Sequence

import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import positive_int
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import iw_bound
from aezoo.models.assemble import assemble


def importance_terms(model: AutoEncoder, batch: Batch, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``k`` draws z_k ~ q(z|x) per image and their log p(x|z_k), log p(z_k), log q(z_k|x), each (k, N): the pieces
    of the log importance weights log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x)."""
    q = model.infer(batch.inputs)
    z = q.sample(k)  # (k, N, D)
    logits = model.decoder(z.flatten(0, 1)).unflatten(0, (k, -1))
    return model.likelihood.log_prob(logits, batch.x), model.prior.log_prob(z), q.log_prob(z)


class IWBound(Objective):
    """-IW bound with ``k`` draws per image (k=1: the negative ELBO with a Monte-Carlo KL). The parts
    ``reconstruction`` and ``kl`` (averaged over the draws) are measurements: the loss is not their sum."""

    diagnostics = ("reconstruction", "kl")

    def __init__(self, k: int = 5):
        super().__init__()
        self.k = positive_int("k", k)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        log_px, log_pz, log_qz = importance_terms(model, batch, self.k)
        loss = -iw_bound(log_px, log_pz, log_qz).mean()
        return loss, {"neg_iw_bound": loss, "reconstruction": -log_px.mean(), "kl": (log_qz - log_pz).mean()}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], k: int,
          likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian", objective=IWBound(k),
                    likelihood=likelihood)
