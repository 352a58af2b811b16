"""ladder-vae: the ladder variational autoencoder (Sønderby et al. 2016), stochastic levels z_1 .. z_L of sizes
``latent_sizes`` (bottom, the one the decoder reads, first). Generative model: p(z_L) = N(0, I), p(z_l | z_(l+1)) a
Gaussian from an MLP, p(x | z_1) the conv decoder. Inference: a deterministic bottom-up pass (the conv encoder
gives (mu^_1, sigma^_1); an MLP on mu^_l gives (mu^_(l+1), sigma^_(l+1)), the official code's "only mu up"), then
top-down, sharing the generative model's MLPs: q(z_L|x) = N(mu^_L, sigma^_L) and q(z_l | z_(l+1), x) the
precision-weighted merge of N(mu^_l, sigma^_l) and p(z_l | z_(l+1)):

    sigma_q^2 = 1 / (sigma^_l^-2 + sigma_p^-2),   mu_q = (mu^_l sigma^_l^-2 + mu_p sigma_p^-2) sigma_q^2.

A code is all levels concatenated (z_1, ..., z_L); the KL of the ELBO is the sum of the per-level KLs, each in
closed form given the levels above it as drawn. One level is the plain conv VAE.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn
from torch.distributions import Normal, kl_divergence

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import level_sizes, widths
from aezoo.core.draws import normal
from aezoo.core.interfaces import Decoder, Encoder
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import Posterior
from aezoo.core.priors import Prior
from aezoo.nets.conv import ConvDecoder, ConvEncoder

Gaussian = tuple[torch.Tensor, torch.Tensor]  # (mu, logvar)


class GaussianMLP(nn.Module):
    """ReLU layers of widths ``hidden`` from ``inputs`` numbers to a Gaussian's (mu, logvar) over ``outputs``."""

    def __init__(self, inputs: int, hidden: Sequence[int], outputs: int):
        super().__init__()
        sizes = [inputs, *hidden]
        self.body = nn.Sequential(*[m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())])
        self.mu, self.logvar = nn.Linear(sizes[-1], outputs), nn.Linear(sizes[-1], outputs)

    def forward(self, v: torch.Tensor) -> Gaussian:
        h = self.body(v)
        return self.mu(h), self.logvar(h)


def merge(bottom_up: Gaussian, top_down: Gaussian) -> Gaussian:
    """The precision-weighted product of two diagonal Gaussians, in log-variances (stable for tiny variances)."""
    (mu_b, lv_b), (mu_p, lv_p) = bottom_up, top_down
    weight = torch.sigmoid(lv_p - lv_b)  # sigma_b^-2 / (sigma_b^-2 + sigma_p^-2)
    return weight * mu_b + (1 - weight) * mu_p, -torch.logaddexp(-lv_b, -lv_p)


def _normal(g: Gaussian) -> Normal:
    return Normal(g[0], (0.5 * g[1]).exp(), validate_args=False)


class LadderEncoder(Encoder):
    """The bottom-up pass: the conv encoder's Gaussian for level 1, then an MLP per level on the mean below."""

    def __init__(self, input_shape: tuple[int, int, int], channels: Sequence[int], levels: Sequence[int],
                 hidden: Sequence[int]):
        super().__init__()
        self.latent_dim = sum(levels)
        self.image = ConvEncoder(input_shape, tuple(channels), levels[0], gaussian=True)
        self.up = nn.ModuleList(GaussianMLP(a, hidden, b) for a, b in zip(levels, levels[1:]))

    def forward(self, x: torch.Tensor) -> tuple[Gaussian, ...]:
        out = [self.image(x)]
        for net in self.up:
            out.append(net(out[-1][0]))
        return tuple(out)


class LadderPrior(Prior):
    """p(z_1, ..., z_L) = N(z_L; 0, I) prod_l p(z_l | z_(l+1)), over codes (..., sum(levels))."""

    def __init__(self, levels: Sequence[int], hidden: Sequence[int]):
        super().__init__(sum(levels))
        self.levels = tuple(levels)
        self.down = nn.ModuleList(GaussianMLP(b, hidden, a) for a, b in zip(levels, levels[1:]))  # level l+1 -> l
        top = len(levels)
        below = {1: "", 2: ", learned p(z_1 | z_2)"}.get(top, ", learned p(z_l | z_(l+1)) below")
        self.title = f"the ladder prior (N(0, I) on z_{top}{below})"

    def split(self, z: torch.Tensor) -> list[torch.Tensor]:
        return list(z.split(self.levels, -1))

    def conditional(self, level: int, above: torch.Tensor) -> Gaussian:
        """p(z_level | z_(level+1) = ``above``) for level 1 .. L-1."""
        return self.down[level - 1](above)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        parts = self.split(z)
        out = Normal(0.0, 1.0).log_prob(parts[-1]).sum(-1)
        for level in range(1, len(parts)):
            out = out + _normal(self.conditional(level, parts[level])).log_prob(parts[level - 1]).sum(-1)
        return out

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        parts = [normal((n, self.levels[-1]), generator, self._anchor)]
        for level in range(len(self.levels) - 1, 0, -1):
            mu, logvar = self.conditional(level, parts[0])
            parts.insert(0, mu + (0.5 * logvar).exp() * normal(tuple(mu.shape), generator, mu))
        return torch.cat(parts, -1)


@dataclass
class LadderQ:
    """q(z_1, ..., z_L | x) = q(z_L|x) prod_l q(z_l | z_(l+1), x) for a batch, from the bottom-up Gaussians
    ``up`` (level 1 first) and the ``prior`` whose conditionals the top-down pass merges with them."""

    up: tuple[Gaussian, ...]
    prior: LadderPrior
    has_density = True
    kind = "hierarchical"

    def _top_down(self, noise: Any) -> tuple[list[torch.Tensor], list[Gaussian]]:
        """Codes (top level first) and each level's q, drawing level l's code with ``noise(q_l)``."""
        q = [self.up[-1]]
        codes = [noise(q[0])]
        for level in range(len(self.up) - 1, 0, -1):
            q.insert(0, merge(self.up[level - 1], self.prior.conditional(level, codes[0])))
            codes.insert(0, noise(q[0]))
        return codes, q

    @property
    def levels(self) -> tuple[int, ...]:
        """The sizes of the levels in a code, the decoder's first."""
        return self.prior.levels

    @property
    def mean(self) -> torch.Tensor:
        """Every level's posterior mean, each given the means above it: (N, sum(levels))."""
        return torch.cat(self._top_down(lambda g: g[0])[0], -1)

    def sample(self, k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draws of all levels by the top-down pass: (N, sum(levels)), or (k, N, sum(levels))."""
        def draw(g: Gaussian) -> torch.Tensor:  # the top level is (N, d): expanded to (k, N, d); the others follow
            mu = g[0] if k is None or g[0].dim() == 3 else g[0].expand(k, *g[0].shape)
            return mu + (0.5 * g[1]).exp() * normal(tuple(mu.shape), generator, mu)

        return torch.cat(self._top_down(draw)[0], -1)

    def levels_q(self, z: torch.Tensor) -> list[Gaussian]:
        """Each level's q given the levels of ``z`` above it (level 1 first)."""
        parts = self.prior.split(z)
        return [merge(self.up[level - 1], self.prior.conditional(level, parts[level]))
                for level in range(1, len(parts))] + [self.up[-1]]

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z_1, ..., z_L | x) for codes (N, D) or (k, N, D)."""
        return sum(_normal(g).log_prob(part).sum(-1) for g, part in zip(self.levels_q(z), self.prior.split(z)))

    def kl_per_level(self, prior: LadderPrior, z: torch.Tensor) -> list[torch.Tensor]:
        """KL(q(z_l | z_(l+1), x) || p(z_l | z_(l+1))) per image for l = 1 (the decoder's level) .. L, in closed
        form at the upper levels of the draws ``z`` (N, D) or (k, N, D), averaged over the k draws."""
        parts = prior.split(z)
        out = []
        for level, g in enumerate(self.levels_q(z), 1):
            p = prior.conditional(level, parts[level]) if level < len(parts) else (torch.zeros_like(g[0]),) * 2
            kl = kl_divergence(_normal(g), _normal(p)).sum(-1)
            out.append(kl.mean(0) if kl.dim() == 2 else kl)
        return out


class LadderPosterior(Posterior):
    """Takes the bottom-up Gaussians; merges them top-down with the model's prior (bound by the AutoEncoder)."""

    kind, has_density = "hierarchical", True

    def __init__(self, levels: Sequence[int]):
        super().__init__(sum(levels))
        self.levels = tuple(levels)

    def bind(self, model: nn.Module) -> None:
        self.__dict__["_model"] = model

    def forward(self, up: tuple[Gaussian, ...]) -> LadderQ:
        if not isinstance(up, tuple) or len(up) != len(self.levels):
            raise TypeError(f"a ladder posterior needs the bottom-up (mu, logvar) of each of {len(self.levels)} levels")
        return LadderQ(up, self.__dict__["_model"].prior)


class FirstLevelDecoder(Decoder):
    """The conv decoder of z_1, the first ``size`` numbers of a code."""

    def __init__(self, input_shape: tuple[int, int, int], channels: Sequence[int], size: int):
        super().__init__()
        self.size, self.image = size, ConvDecoder(input_shape, tuple(channels), size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.image(z[..., :self.size])


def build(input_shape: tuple[int, int, int], *, latent_sizes: Sequence[int], channels: Sequence[int],
          hidden: Sequence[int], beta: float, likelihood: str, warmup: int) -> AutoEncoder:
    levels = level_sizes("latent_sizes", latent_sizes)
    hidden, channels = widths("hidden", hidden), widths("channels", channels)
    return AutoEncoder(LadderEncoder(input_shape, channels, levels, hidden),
                       FirstLevelDecoder(input_shape, channels, levels[0]), ELBO(beta=beta, warmup=warmup),
                       input_shape, posterior=LadderPosterior(levels), prior=LadderPrior(levels, hidden),
                       likelihood=likelihood)
