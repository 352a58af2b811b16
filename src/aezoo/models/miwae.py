"""miwae: the multiply importance-weighted autoencoder (Rainforth et al. 2018, "Tighter variational bounds are not
necessarily better"), a conv VAE trained on minus the average of ``m`` independent ``k``-sample IW bounds,
(1/M) sum_m log (1/K) sum_k p(x|z_mk) p(z_mk) / q(z_mk|x), from M x K draws per image. M=1 is the IWAE bound,
K=1 the ELBO averaged over M draws; for a fixed budget M x K, more M gives the encoder's gradient a higher
signal-to-noise ratio, more K a tighter bound."""
from __future__ import annotations

from typing import Sequence

import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import positive_int
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import iw_bound
from aezoo.models.assemble import assemble
from aezoo.models.iwae import importance_terms


def miwae_bound(log_px: torch.Tensor, log_pz: torch.Tensor, log_qz: torch.Tensor, m: int) -> torch.Tensor:
    """The MIWAE bound per image from (M x K, N) terms, the draws taken as M groups of K: the mean over the groups of
    each group's K-sample IW bound."""
    groups = [t.unflatten(0, (m, -1)).transpose(0, 1) for t in (log_px, log_pz, log_qz)]  # (K, M, N) each
    return iw_bound(*groups).mean(0)


class MIWAEBound(Objective):
    """-MIWAE(M, K) with ``m`` x ``k`` draws per image. The parts ``reconstruction`` and ``kl`` (averaged over the
    draws) are measurements: the loss is not their sum."""

    diagnostics = ("reconstruction", "kl")

    def __init__(self, m: int = 4, k: int = 4):
        super().__init__()
        self.m, self.k = positive_int("m", m), positive_int("k", k)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        log_px, log_pz, log_qz = importance_terms(model, batch, self.m * self.k)
        loss = -miwae_bound(log_px, log_pz, log_qz, self.m).mean()
        return loss, {"neg_miwae_bound": loss, "reconstruction": -log_px.mean(), "kl": (log_qz - log_pz).mean()}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], m: int, k: int,
          likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian", objective=MIWAEBound(m, k),
                    likelihood=likelihood)
