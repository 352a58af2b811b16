"""A masked autoregressive flow (MAF, Papamakarios et al. 2017) fitted ex post to a model's training codes, as a
sampler any model can use (``zoo sample --sampler maf``): an exact density over codes and draws from it.

Each layer is a MADE (Germain et al. 2015) giving, for every dimension i, a shift m_i and log-scale a_i that depend
on the dimensions before it only: the density direction u = (z - m(z)) exp(-a(z)) is one pass, log p(z) =
log N(u; 0, I) - sum_i a_i, and sampling inverts it one dimension at a time. Layers alternate the order of the
dimensions (reversal, |det| = 1). The last layer of each MADE starts at zero, so the untrained flow is the
identity and its density N(0, I) on the standardised codes.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Normal
from torch.nn import functional as F

from aezoo.core.code_fit import fit, standardised
from aezoo.core.priors import Prior

LOG_SCALE_LIMIT = 5.0  # a layer's log-scale is soft-clamped to (-5, 5): no overflow while fitting


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (out_features, in_features)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask.float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """Masked MLP: ``(shift, log_scale)`` for each of ``dim`` inputs, output i reading inputs 0..i-1 only."""

    def __init__(self, dim: int, hidden: int = 64, layers: int = 2):
        super().__init__()
        inputs = torch.arange(dim)
        units = torch.arange(hidden) % max(dim - 1, 1)  # hidden degrees 0..dim-2 (all 0 for dim 1: no input)
        blocks: list[nn.Module] = [MaskedLinear(units[:, None] >= inputs[None]), nn.ReLU()]
        for _ in range(layers - 1):
            blocks += [MaskedLinear(units[:, None] >= units[None]), nn.ReLU()]
        self.body = nn.Sequential(*blocks)
        self.head = MaskedLinear((inputs[:, None] > units[None]).repeat(2, 1))
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.dim = dim

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, log_scale = self.head(self.body(z)).split(self.dim, -1)
        return shift, LOG_SCALE_LIMIT * torch.tanh(log_scale / LOG_SCALE_LIMIT)


class MAF(nn.Module):
    """``layers`` MADEs with the order of the dimensions reversed between them, over a standard-normal base."""

    def __init__(self, dim: int, layers: int = 5, hidden: int = 64):
        super().__init__()
        self.dim = dim
        self.mades = nn.ModuleList(MADE(dim, hidden) for _ in range(layers))

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Exact log-density of ``z`` (N, dim): one pass per layer."""
        log_det = z.new_zeros(z.shape[:-1])
        for made in self.mades:
            shift, log_scale = made(z)
            z = ((z - shift) * torch.exp(-log_scale)).flip(-1)
            log_det = log_det - log_scale.sum(-1)
        return Normal(0.0, 1.0).log_prob(z).sum(-1) + log_det

    def invert(self, u: torch.Tensor) -> torch.Tensor:
        """Codes from base draws ``u`` (N, dim): dim passes per layer, one dimension at a time."""
        for made in reversed(self.mades):
            u = u.flip(-1)
            z = torch.zeros_like(u)
            for i in range(self.dim):
                shift, log_scale = made(z)
                z = z.clone()
                z[:, i] = u[:, i] * torch.exp(log_scale[:, i]) + shift[:, i]
            u = z
        return u


class FittedFlow(Prior):
    """A MAF fitted to training ``codes`` (N, D) by maximum likelihood: ``steps`` Adam steps on batches of
    ``batch_size`` codes (standardised per dimension first), everything seeded by ``seed``: the same codes and seed
    give the same flow and the same draws. Fitted, evaluated and sampled on the CPU in float32."""

    def __init__(self, codes: torch.Tensor, seed: int = 0, layers: int = 5, hidden: int = 64, steps: int = 1000,
                 batch_size: int = 256, lr: float = 1e-3):
        codes, loc, scale = standardised(codes)
        super().__init__(codes.shape[1])
        self.register_buffer("loc", loc)
        self.register_buffer("scale", scale)
        self.title = f"a masked autoregressive flow ({layers} MADE layers) fitted to the training codes"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.flow = MAF(codes.shape[1], layers, hidden)
        self.losses = fit(self.flow.parameters(), (codes - loc) / scale,
                          lambda batch, step, generator: -self.flow.log_prob(batch).mean(), seed, steps, batch_size, lr)
        self.flow.requires_grad_(False)

    @torch.no_grad()
    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Exact log-density of codes ``z`` (..., D) (computed on the CPU)."""
        flat = z.detach().reshape(-1, self.latent_dim).float().cpu()
        log_p = self.flow.log_prob((flat - self.loc.cpu()) / self.scale.cpu()) - self.scale.cpu().log().sum()
        return log_p.reshape(z.shape[:-1]).to(z.device, z.dtype)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        u = torch.randn((n, self.latent_dim), generator=generator)
        return self.flow.invert(u) * self.scale.cpu() + self.loc.cpu()
