"""The two-stage VAE sampler (Dai & Wipf 2019, "Diagnosing and enhancing VAE models"), fitted ex post to any
model's training codes (``zoo sample --sampler two-stage``): a second, small VAE learns the distribution of the
first stage's codes z, and sampling decodes through both, u ~ N(0, I) -> z = g(u) + gamma * eps -> x.

The second stage follows the paper's official code: a latent u as wide as z, MLP encoder and decoder, and a
Gaussian decoder whose standard deviation gamma is one learned scalar, so that -log p(z|u) =
sum_j [(z_j - g_j(u))^2 / (2 gamma^2) + log gamma + log(2 pi) / 2]. Two departures, both for a sampler fitted in
seconds on a small dataset: it fits the codes ``encode_all`` gives (posterior means, not fresh draws from q(z|x)
each epoch), standardised per dimension, and trains for a fixed number of steps, seeded.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Normal

from aezoo.core.objectives import gaussian_kl
from aezoo.core.code_fit import fit, standardised
from aezoo.core.priors import Prior

MIN_LOG_GAMMA = math.log(1e-3)
WARMUP = 0.5  # the KL weight ramps from 0 to 1 over this fraction of the steps: without it the second stage
# collapses onto one Gaussian (gamma stays 1, the encoder is ignored) on well-separated clusters of codes  # gamma -> 0 sends the loss to -inf on codes it fits exactly


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of ``sizes`` with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class SecondStage(nn.Module):
    """A VAE on codes (N, dim) with a latent u of the same width and a learned decoder scale gamma."""

    def __init__(self, dim: int, hidden: int = 128, depth: int = 2):
        super().__init__()
        self.encoder = mlp([dim, *[hidden] * depth, 2 * dim])
        self.decoder = mlp([dim, *[hidden] * depth, dim])
        self.log_gamma = nn.Parameter(torch.zeros(()))

    def gamma(self) -> torch.Tensor:
        return self.log_gamma.clamp(min=MIN_LOG_GAMMA).exp()

    def log_px(self, z: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """log p(z|u) per code: Gaussian with mean g(u) and standard deviation gamma in every dimension."""
        return Normal(self.decoder(u), self.gamma()).log_prob(z).sum(-1)

    def loss(self, z: torch.Tensor, eps: torch.Tensor, kl_weight: float = 1.0) -> torch.Tensor:
        """-ELBO of codes ``z`` per code (the KL weighted by ``kl_weight``), with the reparameterisation noise
        ``eps``."""
        mu, logvar = self.encoder(z).chunk(2, -1)
        u = mu + eps * (0.5 * logvar).exp()
        return -self.log_px(z, u) + kl_weight * gaussian_kl(mu, logvar)


class TwoStageVAE(Prior):
    """A second-stage VAE fitted to training ``codes`` (N, D): ``steps`` Adam steps on batches of ``batch_size``
    standardised codes, seeded by ``seed`` (initialisation, batches and noise): the same codes and seed give the
    same sampler and the same draws. Fitted and sampled on the CPU in float32."""

    def __init__(self, codes: torch.Tensor, seed: int = 0, hidden: int = 128, depth: int = 2, steps: int = 1500,
                 batch_size: int = 256, lr: float = 3e-3):
        codes, loc, scale = standardised(codes)
        super().__init__(codes.shape[1])
        self.register_buffer("loc", loc)
        self.register_buffer("scale", scale)
        self.title = "a two-stage VAE (Dai & Wipf 2019) fitted to the training codes"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.stage = SecondStage(codes.shape[1], hidden, depth)

        def loss(batch: torch.Tensor, step: int, generator: torch.Generator) -> torch.Tensor:
            warmup = min(1.0, step / (WARMUP * steps))
            return self.stage.loss(batch, torch.randn(batch.shape, generator=generator), warmup).mean()

        self.losses = fit(self.stage.parameters(), (codes - loc) / scale, loss, seed, steps, batch_size, lr)
        self.stage.requires_grad_(False)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """u ~ N(0, I), z = g(u) + gamma * eps (the official sampler), back in the first stage's code units."""
        u = torch.randn((n, self.latent_dim), generator=generator)
        eps = torch.randn((n, self.latent_dim), generator=generator)
        z = self.stage.decoder(u) + self.stage.gamma() * eps
        return z * self.scale + self.loc

    @torch.no_grad()
    def log_prob(self, z: torch.Tensor, k: int = 100, generator: torch.Generator | None = None) -> torch.Tensor:
        """An importance-weighted estimate (``k`` draws from the second-stage encoder) of log p(z): a stochastic
        lower bound that tightens with ``k``; seeded by ``generator`` (default: seed 0)."""
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        flat = (z.detach().reshape(-1, self.latent_dim).float().cpu() - self.loc) / self.scale
        mu, logvar = self.stage.encoder(flat).chunk(2, -1)
        std = (0.5 * logvar).exp()
        u = mu + torch.randn((k, *mu.shape), generator=generator) * std
        log_w = self.stage.log_px(flat, u) + Normal(0.0, 1.0).log_prob(u).sum(-1) - Normal(mu, std).log_prob(u).sum(-1)
        log_p = torch.logsumexp(log_w, 0) - math.log(k) - self.scale.log().sum()
        return log_p.reshape(z.shape[:-1]).to(z.device, z.dtype)
