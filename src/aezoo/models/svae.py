"""svae: the hyperspherical VAE (Davidson et al. 2018): codes on the unit sphere S^(m-1) of R^m (m = latent_dim,
the ambient dimension), a von Mises-Fisher posterior vMF(mu(x), kappa(x)) with density C_m(kappa) exp(kappa mu^T z)
and the uniform prior 1 / |S^(m-1)|, so that

    KL(vMF || U) = kappa A_m(kappa) + log C_m(kappa) + log |S^(m-1)|,   A_m = I_(m/2) / I_(m/2-1)

in closed form (independent of mu). Draws are reparameterised as in the paper: w = mu^T z by Wood's (1994)
rejection sampler (its accepted Beta draw held fixed, w differentiable in kappa through b(kappa)), a uniform
direction orthogonal to e1, and the Householder reflection taking e1 to mu. Bessel functions of any order come from
scipy's exponentially scaled ``ive`` in float64, with their derivative in kappa, so large kappa does not overflow.
kappa = softplus(.) + 1, mu = the encoder's vector normalised (as the official code and pythae).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import count
from aezoo.core.draws import normal
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import Posterior
from aezoo.core.priors import Prior
from aezoo.models.assemble import assemble

MAX_ROUNDS = 1000  # rejection rounds before giving up (acceptance is above 1/2 a round for every kappa)


def _log_ive(nu: float, kappa: np.ndarray) -> np.ndarray:
    """log(I_nu(kappa) exp(-kappa)) in float64; where scipy's ive underflows (large order, small kappa), the
    leading term of the series, nu log(kappa / 2) - lgamma(nu + 1) - kappa."""
    from scipy.special import gammaln, ive

    with np.errstate(divide="ignore"):
        out = np.log(ive(nu, kappa))
    small = ~np.isfinite(out)
    out[small] = nu * np.log(kappa[small] / 2) - gammaln(nu + 1) - kappa[small]
    return out


class LogIve(torch.autograd.Function):
    """log ive(nu, kappa) = log I_nu(kappa) - kappa for kappa > 0, differentiable in kappa:
    d/dkappa log ive(nu, kappa) = I_(nu+1)(kappa) / I_nu(kappa) + nu / kappa - 1."""

    @staticmethod
    def forward(ctx: Any, nu: float, kappa: torch.Tensor) -> torch.Tensor:
        k = kappa.detach().double().cpu().numpy()
        ctx.nu = nu
        ctx.save_for_backward(kappa)
        return torch.from_numpy(_log_ive(nu, k)).to(kappa.device, kappa.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        (kappa,) = ctx.saved_tensors
        k = kappa.detach().double().cpu().numpy()
        ratio = np.exp(_log_ive(ctx.nu + 1, k) - _log_ive(ctx.nu, k))
        return None, grad * torch.from_numpy(ratio + ctx.nu / k - 1).to(kappa.device, kappa.dtype)


def log_ive(nu: float, kappa: torch.Tensor) -> torch.Tensor:
    return LogIve.apply(float(nu), kappa)


def log_sphere_area(m: int) -> float:
    """log |S^(m-1)| = log(2 pi^(m/2) / Gamma(m/2)), the surface of the unit sphere in R^m."""
    return math.log(2) + m / 2 * math.log(math.pi) - math.lgamma(m / 2)


def vmf_log_norm(m: int, kappa: torch.Tensor) -> torch.Tensor:
    """log C_m(kappa) = (m/2 - 1) log kappa - (m/2) log 2 pi - log I_(m/2-1)(kappa)."""
    nu = m / 2 - 1
    return nu * kappa.log() - m / 2 * math.log(2 * math.pi) - (log_ive(nu, kappa) + kappa)


def vmf_kl_to_uniform(m: int, kappa: torch.Tensor) -> torch.Tensor:
    """KL(vMF(mu, kappa) || U(S^(m-1))) per image, for any mu."""
    mean_cosine = torch.exp(log_ive(m / 2, kappa) - log_ive(m / 2 - 1, kappa))  # A_m(kappa) = E[mu^T z]
    return kappa * mean_cosine + vmf_log_norm(m, kappa) + log_sphere_area(m)


def _seed(generator: torch.Generator | None) -> int:
    return int(torch.randint(2**62, (1,), generator=generator))


def wood_cosines(kappa: torch.Tensor, m: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """w = mu^T z for vMF draws on S^(m-1), one per entry of ``kappa``, by Wood's rejection sampler. The Beta and
    uniform draws are numpy's (seeded from ``generator``, or torch's global generator); the accepted Beta draw is
    then a constant and w a differentiable function of kappa."""
    k = kappa.detach().double().cpu().numpy().ravel()
    c = np.sqrt(4 * k**2 + (m - 1) ** 2)
    b = (m - 1) / (2 * k + c)  # = (-2 kappa + c) / (m - 1) without its cancellation at large kappa
    a = (m - 1 + 2 * k + c) / 4
    d = 4 * a * b / (1 + b) - (m - 1) * math.log(m - 1)
    rng, accepted, todo = np.random.default_rng(_seed(generator)), np.empty_like(k), np.arange(len(k))
    for _ in range(MAX_ROUNDS):
        if not len(todo):
            break
        e = rng.beta((m - 1) / 2, (m - 1) / 2, len(todo))
        t = 2 * a[todo] * b[todo] / (1 - (1 - b[todo]) * e)
        ok = (m - 1) * np.log(t) - t + d[todo] >= np.log(rng.uniform(size=len(todo)))
        accepted[todo[ok]] = e[ok]
        todo = todo[~ok]
    if len(todo):
        raise RuntimeError(f"the vMF rejection sampler accepted no draw in {MAX_ROUNDS} rounds for kappa "
                           f"{k[todo][:3].tolist()}")
    kd = kappa.double()
    b_t = (m - 1) / (2 * kd + torch.sqrt(4 * kd**2 + (m - 1) ** 2))
    e_t = torch.from_numpy(accepted).to(kappa.device).reshape(kappa.shape)
    return ((1 - (1 + b_t) * e_t) / (1 - (1 - b_t) * e_t)).to(kappa.dtype)


def householder(loc: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The reflection that takes e1 to ``loc`` (unit vectors, (..., m)) applied to ``z``."""
    e1 = torch.zeros_like(loc)
    e1[..., 0] = 1
    u = F.normalize(e1 - loc, dim=-1)  # loc == e1: u = 0, the identity
    return z - 2 * (z * u).sum(-1, keepdim=True) * u


@dataclass
class VonMisesFisherQ:
    """q(z|x) = vMF(loc, concentration) on S^(m-1) for each image: ``loc`` (N, m) unit vectors, ``concentration``
    (N,). Its density is with respect to the sphere's surface measure, as the uniform prior's."""

    loc: torch.Tensor
    concentration: torch.Tensor
    has_density = True
    kind = "hyperspherical"

    @property
    def mean(self) -> torch.Tensor:
        """The mean direction (the code figures show); E_q[z] = A_m(kappa) loc lies inside the sphere."""
        return self.loc

    def sample(self, k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterised draws on the sphere: (N, m), or (k, N, m) for ``k`` draws per image."""
        shape = tuple(self.concentration.shape) if k is None else (k, *self.concentration.shape)
        m = self.loc.shape[-1]
        w = wood_cosines(self.concentration.expand(shape), m, generator)[..., None]
        v = normal((*shape, m - 1), generator, self.loc)
        around_e1 = torch.cat([w, (1 - w.pow(2)).clamp_min(1e-12).sqrt() * F.normalize(v, dim=-1)], -1)
        return householder(self.loc, around_e1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log vMF(z; loc, kappa) = kappa loc^T z + log C_m(kappa), for z (N, m) or (k, N, m) on the sphere."""
        m = self.loc.shape[-1]
        return self.concentration * (z * self.loc).sum(-1) + vmf_log_norm(m, self.concentration)

    def kl_to(self, prior: Any, z: torch.Tensor | None = None) -> torch.Tensor | None:
        """KL to the uniform prior on the sphere in closed form (None for any other prior)."""
        if isinstance(prior, UniformSphere):
            return vmf_kl_to_uniform(self.loc.shape[-1], self.concentration)
        return None


class VonMisesFisherPosterior(Posterior):
    """The encoder gives a vector (normalised to the mean direction) and one number (kappa = softplus(.) + 1)."""

    kind, has_density = "hyperspherical", True
    encoder_logvar, encoder_extra = False, 1

    def __init__(self, latent_dim: int):
        super().__init__(count("latent_dim", latent_dim, least=2))  # S^0 (two points) has no reparameterisation

    def forward(self, h: tuple[torch.Tensor, torch.Tensor]) -> VonMisesFisherQ:
        if not isinstance(h, tuple) or len(h) != 2:
            raise TypeError("a vMF posterior needs an encoder that returns (direction, concentration)")
        return VonMisesFisherQ(F.normalize(h[0], dim=-1), F.softplus(h[1].squeeze(-1)) + 1)


class UniformSphere(Prior):
    """The uniform distribution on the unit sphere S^(m-1) of R^m."""

    def __init__(self, latent_dim: int):
        super().__init__(latent_dim)
        self.title = f"the uniform distribution on the sphere S^{latent_dim - 1}"

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return torch.full(z.shape[:-1], -log_sphere_area(self.latent_dim), device=z.device, dtype=z.dtype)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn((n, self.latent_dim), generator=generator)
        return F.normalize(z, dim=-1).to(self._anchor.device, self._anchor.dtype)


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], beta: float,
          likelihood: str, warmup: int) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior=VonMisesFisherPosterior(latent_dim),
                    prior=UniformSphere(latent_dim), objective=ELBO(beta=beta, warmup=warmup), likelihood=likelihood)
