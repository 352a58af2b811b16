"""hamiltonian-vae: the Hamiltonian VAE (Caterini, Doucet & Sejdinovic 2018, following the paper and its official
code, not pythae's HVAE). The Gaussian draw z0 = mu + sigma eps0 and a momentum rho0 = gamma0 / sqrt(beta0),
gamma0 ~ N(0, I), go through ``leapfrog_steps`` leapfrog steps of the Hamiltonian with potential
U(z) = -log p(x|z) - log p(z) (so the flow is guided by the image x itself), each followed by tempering
rho <- sqrt(beta_(k-1) / beta_k) rho on the schedule 1/sqrt(beta_k) = (1 - 1/sqrt(beta0)) k^2/K^2 + 1/sqrt(beta0)
(beta_K = 1). Leapfrog steps preserve volume and tempering scales rho by sqrt(beta0) overall, so on the augmented
space (z, rho) the bound is exact:

    L = log p(x|z_K) + log p(z_K) + log N(rho_K; 0, I) - log N(z0; mu, sigma) - log N(gamma0; 0, I)

``FlowQ.log_prob`` of a draw z_K is therefore log N(z0; mu, sigma) + log N(gamma0; 0, I) - log N(rho_K; 0, I): the
ELBO, its KL and the importance-weighted bound of ``zoo eval`` are those of the augmented model, an ELBO of and an
unbiased importance weight for p(x). The per-dimension step sizes (in (0, 0.5)) and beta0 are learned, and the loss
is differentiated through the leapfrog's gradients (as the official code; pythae's HVAE does not, and its position
update is not a leapfrog). ``beta0 = 1`` (or no steps): no tempering.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn
from torch.distributions import Normal

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import count, inverse_temperature, leapfrog_step_size
from aezoo.core.draws import normal
from aezoo.core.flows import FlowQ
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import GaussianQ, Posterior
from aezoo.models.assemble import assemble

MAX_STEP = 0.5  # step sizes are MAX_STEP * sigmoid(.), as the official code's max_lf


def _log_std_normal(v: torch.Tensor) -> torch.Tensor:
    return Normal(0.0, 1.0).log_prob(v).sum(-1)


class HamiltonianQ(FlowQ):
    """q over the augmented space: the Gaussian ``base`` and momenta pushed through ``flow(z0, gamma0) -> (z_K,
    rho_K)``; ``log_prob`` of a draw is the augmented log q minus log N(rho_K; 0, I) (see the module)."""

    def __init__(self, base: GaussianQ, flow: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]):
        super().__init__(base, flow)

    @property
    def mean(self) -> torch.Tensor:
        """The flow's output at the base mean: z0 = mu, rho0 = 0."""
        return self.flow(self.base.mu, torch.zeros_like(self.base.mu))[0]

    def sample(self, k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        z0 = self.base.sample(k, generator)
        gamma0 = normal(tuple(z0.shape), generator, z0)
        z, rho = self.flow(z0, gamma0)
        return self.remember(z, self.base.log_prob(z0) + _log_std_normal(gamma0) - _log_std_normal(rho))


class HamiltonianPosterior(Posterior):
    """The encoder gives (mu, logvar); the flow also reads the images and the model's decoder, likelihood and prior
    (bound by the AutoEncoder)."""

    kind, has_density = "flow", True
    encoder_logvar, reads_input = True, True
    no_compile = ("hamiltonian-vae differentiates its loss through the decoder's own gradients (a double backward), "
                  "which torch.compile does not support")
    bound = "the augmented space (z, momentum), the paper's"  # -ELBO, KL: q(z_K, rho_K|x) vs p(z) N(rho; 0, I)

    def __init__(self, latent_dim: int, steps: int = 3, step_size: float = 0.05, beta0: float = 0.3):
        super().__init__(latent_dim)
        self.n_steps = count("leapfrog_steps", steps)
        step_size = leapfrog_step_size("step_size", step_size)
        self.step_logit = nn.Parameter(torch.full((self.latent_dim,), math.log(step_size / (MAX_STEP - step_size))))
        self.tempered = self.n_steps > 0 and inverse_temperature("beta0", beta0) < 1
        self.beta0_logit = nn.Parameter(torch.tensor(math.log(beta0 / (1 - beta0)))) if self.tempered else None

    def bind(self, model: nn.Module) -> None:
        self.__dict__["_model"] = model

    @property
    def step_size(self) -> torch.Tensor:
        return MAX_STEP * torch.sigmoid(self.step_logit)

    def forward(self, h: tuple[torch.Tensor, torch.Tensor], x: torch.Tensor) -> HamiltonianQ:
        if not isinstance(h, tuple) or len(h) != 2:
            raise TypeError("a Hamiltonian posterior needs an encoder that returns (mu, logvar)")
        return HamiltonianQ(GaussianQ(*h), lambda z0, gamma0: self.flow(z0, gamma0, x))

    def potential_gradient(self, z: torch.Tensor, x: torch.Tensor, create_graph: bool) -> torch.Tensor:
        """dU/dz for U(z) = -log p(x|z) - log p(z), z (..., N, D)."""
        model = self.__dict__["_model"]
        u = -(model.likelihood.log_prob(model.logits(z), x) + model.prior.log_prob(z)).sum()
        return torch.autograd.grad(u, z, create_graph=create_graph)[0]

    def flow(self, z: torch.Tensor, gamma: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z0, gamma0) -> (z_K, rho_K). With gradients enabled (training) the result is differentiable through
        the leapfrog's own gradients; without (evaluation), it is computed with local gradients and detached."""
        training = torch.is_grad_enabled()
        with torch.enable_grad():
            if not training:
                z = z.detach().requires_grad_(True)
            eps = self.step_size
            root_beta0 = torch.sigmoid(self.beta0_logit).sqrt() if self.tempered else None
            rho = gamma / root_beta0 if self.tempered else gamma
            previous, grad = root_beta0, self.potential_gradient(z, x, training) if self.n_steps else None
            for k in range(1, self.n_steps + 1):
                rho = rho - eps / 2 * grad
                z = z + eps * rho
                grad = self.potential_gradient(z, x, training)
                rho = rho - eps / 2 * grad
                if self.tempered:
                    root_beta = 1 / ((1 - 1 / root_beta0) * k**2 / self.n_steps**2 + 1 / root_beta0)
                    rho, previous = rho * (previous / root_beta), root_beta
        return (z, rho) if training else (z.detach(), rho.detach())


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], leapfrog_steps: int,
          step_size: float, beta0: float, likelihood: str) -> AutoEncoder:
    posterior = HamiltonianPosterior(latent_dim, leapfrog_steps, step_size, beta0)
    return assemble(input_shape, latent_dim, channels=channels, posterior=posterior, objective=ELBO(),
                    likelihood=likelihood)

