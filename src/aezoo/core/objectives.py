"""Objectives: the training losses, as mean over the batch of per-image sums (nats), computed from the model's
own posterior, prior and likelihood; and the estimators they share with evaluation (KL, MMD)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from aezoo.core.checks import count, weight
from aezoo.core.interfaces import Batch, Objective, Step

if TYPE_CHECKING:
    from aezoo.core.autoencoder import AutoEncoder


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form KL(N(mu, exp(logvar)) || N(0, I)) per image."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)


def kl_to_prior(q: Any, prior: Any, z: torch.Tensor | None = None) -> torch.Tensor:
    """KL(q(z|x) || p(z)) per image, from the first of these that the pair has:

    1. the pair's own closed form: ``q.kl_to(prior, z)``, else ``prior.kl(q, z)`` (each returns None for a
       partner it has no closed form with);
    2. a hierarchical posterior's levels: the sum of ``q.kl_per_level(prior, z)``;
    3. torch.distributions' registered closed form for ``q.distribution()`` and ``prior.distribution()``
       (Gaussian vs standard normal);
    4. the Monte-Carlo estimate log q(z) - log p(z) averaged over the draws ``z``.

    ``z``: draws from q, (N, D) or (k, N, D) (the ones the ELBO decodes); drawn here when needed and not given."""
    for hook, other in ((getattr(q, "kl_to", None), prior), (getattr(prior, "kl", None), q)):
        if hook is not None:
            kl = hook(other, z)
            if kl is not None:
                return kl
    if hasattr(q, "kl_per_level"):
        return sum(q.kl_per_level(prior, q.sample() if z is None else z))
    target = prior.distribution()
    if target is not None and hasattr(q, "distribution"):
        try:
            return torch.distributions.kl_divergence(q.distribution(), target)
        except NotImplementedError:
            pass
    if z is None:
        z = q.sample()
    log_ratio = q.log_prob(z) - prior.log_prob(z)
    return log_ratio.mean(0) if z.dim() == 3 else log_ratio


def iw_bound(log_px: torch.Tensor, log_pz: torch.Tensor, log_qz: torch.Tensor) -> torch.Tensor:
    """log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) per image, from (K, N) terms: the IWAE bound (K=1: the ELBO)."""
    return torch.logsumexp(log_px + log_pz - log_qz, 0) - math.log(log_px.shape[0])


IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # WAE's (and pythae's) multi-scale kernel


def imq_mmd(a: torch.Tensor, b: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Unbiased MMD^2 between samples ``a`` (N, D) and ``b`` (M, D), N, M >= 2, with the inverse multiquadric
    kernel of WAE (Tolstikhin et al. 2018) summed over scales: k(x, y) = sum_s C_s / (C_s + |x - y|^2),
    C_s = 2 D ``scale`` s for s in IMQ_SCALES (``scale``: the prior's variance)."""
    n, m, d = len(a), len(b), a.shape[1]
    if n < 2 or m < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 samples on each side, got {n} and {m}")
    sq_aa, sq_bb, sq_ab = torch.cdist(a, a).pow(2), torch.cdist(b, b).pow(2), torch.cdist(a, b).pow(2)
    total = a.new_zeros(())
    for s in IMQ_SCALES:
        c = 2.0 * d * scale * s
        k_aa, k_bb = c / (c + sq_aa), c / (c + sq_bb)
        total = total + (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1)) \
            + (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1)) - 2 * (c / (c + sq_ab)).mean()
    return total


def frozen(module: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    """``module(*inputs)`` with its parameters detached: gradients reach the inputs, not the module (a
    discriminator's verdict used in the model's loss must not train the discriminator)."""
    params = {k: v.detach() for k, v in module.named_parameters()}
    return torch.func.functional_call(module, params, inputs)


class Reconstruction(Objective):
    """Plain autoencoder loss: -log p(x|z) of the clean target under the model's likelihood."""

    def forward(self, model: "AutoEncoder", batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs, batch.y)
        rec = model.likelihood.nll(out.logits, batch.x)
        return rec, {"reconstruction": rec}


class ELBO(Objective):
    """Negative evidence lower bound with a ``beta`` weight on KL(q(z|x) || p(z)) (beta=1: the VAE), the weight
    ramped up from 0 over the first ``warmup`` optimiser steps (KL warm-up). The KL is in closed form against a
    standard normal, else a Monte-Carlo estimate on the decoded draw (VampPrior)."""

    def __init__(self, *, beta: float = 1.0, warmup: int = 0):
        super().__init__()
        self.beta, self.warmup = weight("beta", beta), count("warmup", warmup)

    def forward(self, model: "AutoEncoder", batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs, batch.y)
        rec = model.likelihood.nll(out.logits, batch.x)
        kl = kl_to_prior(out.q, model.prior, out.z).mean()
        return rec + self.beta * step.ramp(self.warmup) * kl, {"reconstruction": rec, "kl": kl}
