"""Posteriors q(z|x): a module turns an encoder's output into a distribution over codes for a batch.

Three kinds here: a diagonal Gaussian (VAEs), a deterministic point (plain AE, WAE, RAE) and a quantised code
(VQ-VAE); KINDS lists every kind a posterior may declare and what figures call its codes. Each says whether it
has a density, draws K codes at once, and gives the size of a code in bits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.distributions import Independent, Normal

from aezoo.core.checks import code_positions, count, positive_int

FLOAT_BITS = 32  # a continuous code dimension is stored as one float32


@dataclass(frozen=True)
class Kind:
    """What pages and figures say about one posterior kind: ``described`` (the report's "a 16-D latent with ..."),
    ``codes`` (what ``model.encode`` returns: the latent map's points, the traversals' sweeps), ``per_dim_kl``
    (traversals rank dimensions by KL(q(z_d|x) || N(0, 1)) under a standard-normal prior; otherwise by the
    variance of the codes, and ``no_kl`` says why, for a posterior with a density)."""

    described: str
    codes: str
    per_dim_kl: bool = False
    no_kl: str = ""


KINDS = {  # every kind a Posterior (and its q-objects) may declare
    "gaussian": Kind("a Gaussian posterior q(z|x)", "posterior means", per_dim_kl=True,
                     no_kl="the prior is not N(0, I), so a dimension's KL to N(0, 1) is not its KL to the prior"),
    "point": Kind("a deterministic code", "codes"),
    "quantised": Kind("a quantised (codebook) code", "quantised codes"),
    "flow": Kind("a normalising-flow posterior q(z|x)", "flow outputs at the base mean",
                 no_kl="a flow posterior does not factorise over dimensions, so it has no per-dimension KL"),
    "hyperspherical": Kind("a hyperspherical (von Mises-Fisher) posterior q(z|x)", "mean directions",
                           no_kl="a posterior on the sphere does not factorise over dimensions, so it has no "
                           "per-dimension KL"),
    "categorical": Kind("a categorical (one-hot) code", "category probabilities",
                        no_kl="a categorical code has no per-dimension KL to N(0, 1)"),
    "hierarchical": Kind("a hierarchical posterior (several stochastic levels)", "posterior means of all levels",
                         no_kl="the level the decoder reads has a prior conditioned on the level above, not N(0, I)"),
}


def check_kind(posterior: object) -> str:
    """The kind a posterior declares, which must be one of KINDS; else a TypeError naming them."""
    kind = getattr(posterior, "kind", None)
    if kind not in KINDS:
        raise TypeError(f"posterior {type(posterior).__name__} declares kind {kind!r}; a Posterior must declare one "
                        f"of {', '.join(KINDS)} (class attribute kind), which figures and evaluation read")
    return kind


def _draws(shape: tuple[int, ...], k: int | None, like: torch.Tensor,
           generator: torch.Generator | None) -> torch.Tensor:
    full = shape if k is None else (k, *shape)
    if generator is None:
        return torch.randn(full, device=like.device, dtype=like.dtype)
    return torch.randn(full, generator=generator).to(like.device, like.dtype)


@dataclass
class GaussianQ:
    """q(z|x) = N(mu, diag exp(logvar)) for each image of a batch."""

    mu: torch.Tensor
    logvar: torch.Tensor
    has_density = True
    kind = "gaussian"

    @property
    def mean(self) -> torch.Tensor:
        return self.mu

    @property
    def std(self) -> torch.Tensor:
        return (0.5 * self.logvar).exp()

    def sample(self, k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Differentiable draws (reparameterisation): (N, D), or (k, N, D) for ``k`` draws per image."""
        return self.mu + _draws(tuple(self.mu.shape), k, self.mu, generator) * self.std

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z|x) summed over latent dims; ``z`` is (N, D) or (k, N, D)."""
        return self.distribution().log_prob(z)

    def distribution(self) -> Independent:
        return Independent(Normal(self.mu, self.std, validate_args=False), 1, validate_args=False)


@dataclass
class PointQ:
    """A deterministic code: q(z|x) is a point mass at ``z`` and has no density."""

    z: torch.Tensor
    has_density = False
    kind = "point"

    @property
    def mean(self) -> torch.Tensor:
        return self.z

    def sample(self, k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.z if k is None else self.z.expand(k, *self.z.shape)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        raise ValueError("a deterministic encoder has no posterior density")


@dataclass
class QuantisedQ:
    """A VQ code: the encoder output ``z_e`` snapped to codebook vectors ``z_q`` (straight-through gradient),
    ``indices`` (N, positions) into a codebook of ``codebook_size`` entries. q is one-hot: it has a probability
    mass (1 on its code) but no density over continuous codes."""

    z_e: torch.Tensor
    z_q: torch.Tensor
    indices: torch.Tensor
    codebook_size: int
    has_density = False
    kind = "quantised"

    @property
    def mean(self) -> torch.Tensor:
        return self.z_e + (self.z_q - self.z_e).detach()  # straight-through estimator

    def sample(self, k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        z = self.mean
        return z if k is None else z.expand(k, *z.shape)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        raise ValueError("a quantised code has a one-hot posterior, no density over continuous codes")


class Posterior(nn.Module):
    """Maps an encoder's output to a q(z|x) object; ``code_bits`` is the size of one image's code. A subclass
    declares its ``kind`` (one of KINDS) and ``has_density``."""

    kind = ""
    has_density = False

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = int(latent_dim)

    def code_bits(self) -> float:
        return float(FLOAT_BITS * self.latent_dim)


class GaussianPosterior(Posterior):
    """The encoder returns ``(mu, logvar)``."""

    kind, has_density = "gaussian", True

    def forward(self, h: tuple[torch.Tensor, torch.Tensor]) -> GaussianQ:
        if not isinstance(h, tuple):
            raise TypeError("a Gaussian posterior needs an encoder that returns (mu, logvar)")
        return GaussianQ(h[0], h[1])


class PointPosterior(Posterior):
    """The encoder returns the code itself."""

    kind = "point"

    def forward(self, h: torch.Tensor) -> PointQ:
        if isinstance(h, tuple):
            raise TypeError("a deterministic posterior needs an encoder that returns one tensor (N, latent_dim)")
        return PointQ(h)


class VectorQuantiser(Posterior):
    """Splits a code (N, latent_dim) into ``latent_dim / embedding_dim`` positions and snaps each to the nearest
    of ``codebook_size`` learned vectors. The codebook is initialised from the first training batch's vectors;
    every ``restart_every`` optimiser steps (0: never) entries unused since the last restart move onto recent
    encoder vectors. ``zoo eval`` reports the codebook ``perplexity``."""

    kind = "quantised"

    def __init__(self, latent_dim: int, codebook_size: int = 64, embedding_dim: int = 4, restart_every: int = 0):
        super().__init__(positive_int("latent_dim", latent_dim))
        self.codebook_size = count("codebook_size", codebook_size, least=2)
        self.embedding_dim = positive_int("embedding_dim", embedding_dim)
        code_positions(self.latent_dim, self.embedding_dim)
        self.restart_every, self.restarted = count("restart_every", restart_every), 0
        self.positions = self.latent_dim // self.embedding_dim
        size, dim = self.codebook_size, self.embedding_dim
        self.codebook = nn.Parameter(torch.randn(size, dim) / math.sqrt(dim))
        self.register_buffer("usage", torch.zeros(self.codebook_size), persistent=False)
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))
        self.recent: torch.Tensor | None = None  # last training batch's encoder vectors, for restarts

    def code_bits(self) -> float:
        return self.positions * math.log2(self.codebook_size)

    def forward(self, h: torch.Tensor) -> QuantisedQ:
        flat = h.reshape(-1, self.embedding_dim)
        if self.training and not bool(self.initialised):  # codebook initialised from the first batch's vectors
            with torch.no_grad():
                pick = torch.randint(len(flat), (self.codebook_size,), device=flat.device)
                self.codebook.copy_(flat[pick].float() + 1e-3 * torch.randn_like(self.codebook))
                self.initialised.fill_(True)
        indices = torch.cdist(flat.float(), self.codebook.float()).argmin(1)
        z_q = self.codebook[indices].to(h.dtype).reshape(h.shape)
        if self.training:
            with torch.no_grad():
                self.usage += torch.bincount(indices, minlength=self.codebook_size).to(self.usage.dtype)
                self.recent = flat.detach()
        return QuantisedQ(h, z_q, indices.reshape(h.shape[0], self.positions), self.codebook_size)

    def embed(self, indices: torch.Tensor) -> torch.Tensor:
        """Codes (N, latent_dim) from indices (N, positions)."""
        return self.codebook[indices].reshape(indices.shape[0], -1)

    def after_step(self, model: nn.Module, step: Any) -> bool:
        """Trainer hook: restart dead codes after every ``restart_every``-th optimiser step (the same steps on
        every process, so a distributed run copies rank 0's codebook everywhere then)."""
        if self.restart_every and (step.step + 1) % self.restart_every == 0:
            self.restarted += self.restart_dead_codes()
            return True
        return False

    def eval_metrics(self, model: nn.Module, x: torch.Tensor, q: QuantisedQ) -> dict[str, torch.Tensor]:
        """Codebook perplexity of the batch's codes (how many entries are effectively in use)."""
        return {"perplexity": perplexity(q.indices, self.codebook_size)}

    @torch.no_grad()
    def restart_dead_codes(self) -> int:
        """Move codebook entries unused since the last restart onto recent encoder vectors; returns how many."""
        dead = (self.usage == 0).nonzero().flatten()
        if len(dead) and self.recent is not None and len(self.recent):
            pick = torch.randint(len(self.recent), (len(dead),), device=self.recent.device)
            self.codebook[dead] = self.recent[pick].to(self.codebook.dtype)
        self.usage.zero_()
        return int(len(dead))


def perplexity(indices: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """exp(entropy) of the code usage in ``indices``: how many codebook entries are effectively used."""
    p = torch.bincount(indices.flatten(), minlength=codebook_size).double()
    p = p / p.sum().clamp(min=1)
    return torch.exp(-(p * torch.log(p.clamp(min=1e-12))).sum())
