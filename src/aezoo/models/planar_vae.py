"""planar-vae: a conv VAE whose posterior is a normalizing flow of ``flow_steps`` planar or radial steps
(Rezende & Mohamed 2015) on the Gaussian draw z0 = mu + sigma * eps, with exact log-determinants:

- planar: f(z) = z + u_hat tanh(w^T z + b), log|det| = log|1 + (1 - tanh^2(w^T z + b)) w^T u_hat|, where
  u_hat = u + (softplus(w^T u) - 1 - w^T u) w / |w|^2 keeps w^T u_hat > -1 so that every step is invertible;
- radial: f(z) = z + beta h (z - z0), h = 1 / (alpha + |z - z0|), alpha = softplus(.), beta = -alpha + softplus(.)
  >= -alpha (invertible), log|det| = (D - 1) log(1 + beta h) + log(1 + beta h - beta |z - z0| h^2).

``amortised`` (the paper): the encoder gives each image its own flow parameters; otherwise they are learned
parameters shared by all images (pythae's VAE_LinNF). Trained on the ELBO with a Monte-Carlo KL,
log q(z_K|x) = log N(z0; mu, sigma) - sum_k log|det|.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import count, one_of, positive_int
from aezoo.core.flows import FlowQ
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import GaussianQ, Posterior
from aezoo.models.assemble import assemble

FLOWS = ("planar", "radial")


def planar(z: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One planar step on z (..., N, D) with parameters p = (w, u, b), (N, 2D + 1) or (2D + 1,): (f(z), log|det|)."""
    d = z.shape[-1]
    w, u, b = p[..., :d], p[..., d:2 * d], p[..., 2 * d:]
    wu = (w * u).sum(-1, keepdim=True)
    u_hat = u + (F.softplus(wu) - 1 - wu) * w / (w * w).sum(-1, keepdim=True).clamp_min(1e-12)
    t = torch.tanh((z * w).sum(-1, keepdim=True) + b)
    log_det = torch.log1p((1 - t.pow(2)) * (w * u_hat).sum(-1, keepdim=True)).squeeze(-1)
    return z + u_hat * t, log_det


def radial(z: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One radial step on z (..., N, D) with parameters p = (z0, alpha', beta'), (N, D + 2) or (D + 2,)."""
    d = z.shape[-1]
    alpha = F.softplus(p[..., d:d + 1])
    beta = -alpha + F.softplus(p[..., d + 1:d + 2])
    diff = z - p[..., :d]
    r = diff.norm(dim=-1, keepdim=True)
    h = 1 / (alpha + r)
    log_det = (d - 1) * torch.log1p(beta * h) + torch.log1p(beta * h - beta * r * h.pow(2))
    return z + beta * h * diff, log_det.squeeze(-1)


STEPS = {"planar": (planar, lambda d: 2 * d + 1), "radial": (radial, lambda d: d + 2)}  # step, parameters per step


class PlanarPosterior(Posterior):
    """The encoder gives (mu, logvar) and, when ``amortised``, every step's parameters; q is N(mu, exp(logvar))
    pushed through ``steps`` planar or radial steps."""

    kind, has_density = "flow", True
    encoder_logvar = True

    def __init__(self, latent_dim: int, steps: int = 4, flow: str = "planar", amortised: bool = True):
        super().__init__(positive_int("latent_dim", latent_dim))
        self.flow_kind = one_of("flow", flow, FLOWS)
        self.n_steps = count("flow_steps", steps)
        self.step, per_step = STEPS[self.flow_kind][0], STEPS[self.flow_kind][1](self.latent_dim)
        self.amortised = bool(amortised)
        self.encoder_extra = self.n_steps * per_step if self.amortised else 0
        self.params = None if self.amortised else nn.Parameter(torch.randn(self.n_steps, per_step))

    def forward(self, h: tuple[torch.Tensor, ...]) -> FlowQ:
        if not isinstance(h, tuple) or len(h) != (3 if self.encoder_extra else 2):
            raise TypeError("a planar/radial flow posterior needs an encoder that returns (mu, logvar) and, with "
                            "amortised parameters, (mu, logvar, parameters)")
        mu, logvar, *extra = h
        if extra:
            params = extra[0].unflatten(-1, (self.n_steps, -1)).unbind(-2)
        else:
            params = [] if self.params is None else list(self.params)  # amortised with no steps: no parameters
        return FlowQ(GaussianQ(mu, logvar), lambda z0: self.flow(z0, params))

    def flow(self, z: torch.Tensor, params: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """z0 (..., N, D) -> (z_K, sum over steps of log|det|)."""
        log_det = z.new_zeros(z.shape[:-1])
        for p in params:
            z, step_log_det = self.step(z, p)
            log_det = log_det + step_log_det
        return z, log_det


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], flow: str,
          flow_steps: int, amortised: bool, beta: float, likelihood: str, warmup: int) -> AutoEncoder:
    posterior = PlanarPosterior(latent_dim, flow_steps, flow, amortised)
    return assemble(input_shape, latent_dim, channels=channels, posterior=posterior,
                    objective=ELBO(beta=beta, warmup=warmup), likelihood=likelihood)
