"""Tiny in-test models for the KL and posterior-kind hooks: a two-level (hierarchical) VAE whose q-object exposes
``levels`` and ``kl_per_level``, and a Gaussian VAE whose prior provides its own closed-form KL."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import Normal, kl_divergence

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.interfaces import Decoder, Encoder
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import GaussianPosterior, Posterior
from aezoo.core.priors import Prior

SHAPE = (1, 8, 8)
PIXELS = 64
D1, D2 = 2, 1  # level 1 (read by the decoder) and level 2 (the top)


def _randn(shape, like, generator):
    return torch.randn(shape, generator=generator).to(like) if generator is not None else torch.randn(shape).to(like)


@dataclass
class TwoLevelQ:
    """q(z2|x) = N(mu2, s2), q(z1|x, z2) = N(mu1 + w z2, s1); a code is [z1, z2] (the decoder reads z1)."""

    mu1: torch.Tensor
    lv1: torch.Tensor
    mu2: torch.Tensor
    lv2: torch.Tensor
    w: torch.Tensor
    kind = "hierarchical"
    has_density = True
    levels = (D1, D2)

    @property
    def mean(self) -> torch.Tensor:
        return torch.cat([self.mu1 + self.w * self.mu2, self.mu2], -1)

    def sample(self, k=None, generator=None):
        shape = tuple(self.mu2.shape) if k is None else (k, *self.mu2.shape)
        z2 = self.mu2 + (0.5 * self.lv2).exp() * _randn(shape, self.mu2, generator)
        shape1 = tuple(self.mu1.shape) if k is None else (k, *self.mu1.shape)
        z1 = self.mu1 + self.w * z2 + (0.5 * self.lv1).exp() * _randn(shape1, self.mu1, generator)
        return torch.cat([z1, z2], -1)

    def q1(self, z2):
        return Normal(self.mu1 + self.w * z2, (0.5 * self.lv1).exp())

    def log_prob(self, z):
        z1, z2 = z[..., :D1], z[..., D1:]
        return Normal(self.mu2, (0.5 * self.lv2).exp()).log_prob(z2).sum(-1) + self.q1(z2).log_prob(z1).sum(-1)

    def kl_per_level(self, prior, z):
        """[KL(q(z1|x,z2) || p(z1|z2)) at the draws' z2, KL(q(z2|x) || N(0, 1))], per image."""
        z2 = z[..., D1:]
        kl1 = kl_divergence(self.q1(z2), prior.conditional(z2)).sum(-1)
        kl1 = kl1.mean(0) if z.dim() == 3 else kl1
        top = Normal(self.mu2, (0.5 * self.lv2).exp())
        kl2 = kl_divergence(top, Normal(torch.zeros_like(self.mu2), torch.ones_like(self.mu2))).sum(-1)
        return [kl1, kl2]


class TwoLevelPosterior(Posterior):
    kind, has_density = "hierarchical", True

    def __init__(self):
        super().__init__(D1 + D2)
        self.w = nn.Parameter(torch.full((D1,), 0.5))

    def forward(self, h):
        return TwoLevelQ(*h, self.w)


class TwoLevelPrior(Prior):
    """p(z2) = N(0, 1), p(z1|z2) = N(v z2, 1)."""

    title = "a two-level prior"

    def __init__(self):
        super().__init__(D1 + D2)
        self.v = nn.Parameter(torch.full((D1,), -0.7))

    def conditional(self, z2):
        loc = self.v * z2
        return Normal(loc, torch.ones_like(loc))

    def log_prob(self, z):
        z1, z2 = z[..., :D1], z[..., D1:]
        return Normal(0.0, 1.0).log_prob(z2).sum(-1) + self.conditional(z2).log_prob(z1).sum(-1)

    def sample(self, n, generator=None):
        z2 = _randn((n, D2), self._anchor, generator)
        return torch.cat([self.v * z2 + _randn((n, D1), self._anchor, generator), z2], -1)


class TwoLevelEncoder(Encoder):
    def __init__(self):
        super().__init__()
        self.latent_dim = D1 + D2
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 2 * (D1 + D2)))

    def forward(self, x):
        return tuple(self.net(x).split([D1, D1, D2, D2], -1))


class LevelOneDecoder(Decoder):
    """Reads level 1 only (the first D1 dims of a code)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(D1, PIXELS), nn.Unflatten(1, SHAPE))

    def forward(self, z):
        return self.net(z[..., :D1])


def two_level_vae() -> AutoEncoder:
    torch.manual_seed(0)
    return AutoEncoder(TwoLevelEncoder(), LevelOneDecoder(), ELBO(), SHAPE, posterior=TwoLevelPosterior(),
                       prior=TwoLevelPrior())


class ShiftedNormal(Prior):
    """p(z) = N(m, 1) per dim, with no torch.distributions object (so no registered closed form) but its own
    closed-form ``kl(q, z)``; ``calls`` counts them."""

    title = "N(m, I)"

    def __init__(self, latent_dim: int, m: float = 0.8):
        super().__init__(latent_dim)
        self.m, self.calls = m, 0

    def normal(self, like):
        return Normal(torch.full_like(like, self.m), torch.ones_like(like))

    def log_prob(self, z):
        return self.normal(z).log_prob(z).sum(-1)

    def sample(self, n, generator=None):
        return self.m + _randn((n, self.latent_dim), self._anchor, generator)

    def kl(self, q, z):
        self.calls += 1
        return kl_divergence(Normal(q.mean, q.std), self.normal(q.mean)).sum(-1)


class MLPGaussianEncoder(Encoder):
    def __init__(self, latent_dim: int = 3):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 2 * latent_dim))

    def forward(self, x):
        mu, logvar = self.net(x).chunk(2, -1)
        return mu, logvar


class MLPDecoder(Decoder):
    def __init__(self, latent_dim: int = 3):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, PIXELS), nn.Unflatten(1, SHAPE))

    def forward(self, z):
        return self.net(z)


def shifted_prior_vae(latent_dim: int = 3) -> AutoEncoder:
    torch.manual_seed(0)
    return AutoEncoder(MLPGaussianEncoder(latent_dim), MLPDecoder(latent_dim), ELBO(), SHAPE,
                       posterior=GaussianPosterior(latent_dim), prior=ShiftedNormal(latent_dim))
