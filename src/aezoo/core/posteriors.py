"""Posteriors q(z|x): a module turns an encoder's output into a distribution over codes for a batch.

Four kinds here: a diagonal Gaussian (VAEs), a deterministic point (plain AE, WAE, RAE), a quantised code (VQ-VAE's
learned codebook, FSQ's fixed grid) and independent categoricals (the Gumbel-softmax VAE); KINDS lists every kind a
posterior may declare and what figures call its codes. Each says whether it has a density, draws K codes at once,
and gives the size of a code in bits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Independent, Normal, OneHotCategorical

from aezoo.core.checks import code_positions, count, fsq_levels, fsq_positions, positive_int
from aezoo.core.draws import normal

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
        return self.mu + normal(tuple(self.mu.shape) if k is None else (k, *self.mu.shape), generator, self.mu) * self.std

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
    """A quantised code: the (continuous) encoder output ``z_e`` snapped to ``z_q`` (straight-through gradient:
    ``mean`` has the value of ``z_q`` and the gradient of ``z_e``), ``indices`` (N, positions) into a codebook of
    ``codebook_size`` entries. q is one-hot: it has a probability mass (1 on its code) but no density over
    continuous codes."""

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


@dataclass
class CategoricalQ:
    """q(z|x) = independent categorical distributions, one per latent variable, from ``logits`` (N, variables,
    categories); a code is the variables' one-hot vectors side by side, (N, variables * categories). ``sample``
    draws exact one-hot codes (what ``zoo eval`` scores); ``relaxed`` draws the Gumbel-softmax (concrete)
    relaxation training decodes. The mass of a one-hot code is a density with respect to counting measure, so
    the ELBO and the importance-weighted bound are defined with one-hot draws."""

    logits: torch.Tensor
    has_density = True
    kind = "categorical"

    @property
    def probs(self) -> torch.Tensor:
        return torch.softmax(self.logits, -1)

    @property
    def mean(self) -> torch.Tensor:
        """E_q[one-hot code]: each variable's category probabilities, (N, variables * categories)."""
        return self.probs.flatten(-2)

    def mode(self) -> torch.Tensor:
        """The most probable code: each variable's most probable category, one-hot."""
        return F.one_hot(self.logits.argmax(-1), self.logits.shape[-1]).to(self.logits.dtype).flatten(-2)

    def sample(self, k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """One-hot draws (no gradient): (N, V * K), or (k, N, V * K) for ``k`` draws per image."""
        n, v, c = self.logits.shape
        probs = self.probs.detach().reshape(n * v, c).float().cpu()
        picks = torch.multinomial(probs, k or 1, replacement=True, generator=generator)  # (N * V, k)
        codes = F.one_hot(picks.T.reshape(-1, n, v), c).to(self.logits.device, self.logits.dtype).flatten(-2)
        return codes[0] if k is None else codes

    def relaxed(self, temperature: float, hard: bool = False, k: int | None = None) -> torch.Tensor:
        """Gumbel-softmax draws at ``temperature`` (Jang et al. 2016; Maddison et al. 2016), differentiable;
        ``hard``: one-hot in value with the relaxed draw's gradient (straight-through)."""
        logits = self.logits if k is None else self.logits.expand(k, *self.logits.shape)
        return F.gumbel_softmax(logits, tau=temperature, hard=hard).flatten(-2)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z|x) of one-hot codes ``z`` (N, V * K) or (k, N, V * K), summed over the variables."""
        return (z.unflatten(-1, self.logits.shape[-2:]) * torch.log_softmax(self.logits, -1)).sum((-2, -1))

    def distribution(self) -> Independent:
        return Independent(OneHotCategorical(logits=self.logits, validate_args=False), 1, validate_args=False)

    def kl_to(self, prior: Any, z: torch.Tensor | None = None) -> torch.Tensor | None:
        """Closed-form KL to a uniform categorical prior: sum over variables of log K - H(q_v); None otherwise."""
        if getattr(prior, "uniform_categorical", False):
            log_q = torch.log_softmax(self.logits, -1)
            return (log_q.exp() * (log_q + math.log(self.logits.shape[-1]))).sum((-2, -1))
        return None


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

    def code_indices(self, codes: torch.Tensor) -> torch.Tensor:
        """Indices (N, positions) of the codebook vectors nearest to each position of ``codes`` (N, latent_dim)."""
        return self.forward(codes).indices

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


class CategoricalPosterior(Posterior):
    """The encoder returns logits (N, variables * categories): ``variables`` independent categoricals over
    ``categories`` each (the Gumbel-softmax VAE). A code is their one-hot vectors, ``log2(categories)`` bits each."""

    kind, has_density = "categorical", True

    def __init__(self, variables: int, categories: int):
        variables, categories = positive_int("latent_dim", variables), count("categories", categories, least=2)
        super().__init__(variables * categories)
        self.variables, self.categories = variables, categories

    def code_bits(self) -> float:
        return self.variables * math.log2(self.categories)

    def forward(self, h: torch.Tensor) -> CategoricalQ:
        if isinstance(h, tuple):
            raise TypeError("a categorical posterior needs an encoder that returns one tensor of logits")
        return CategoricalQ(h.unflatten(-1, (self.variables, self.categories)))


class FiniteScalarQuantiser(Posterior):
    """Finite scalar quantisation (Mentzer et al. 2023): the code (N, latent_dim) is split into positions of
    ``len(levels)`` numbers; number i is bounded to ``levels[i]`` values by a shifted tanh and rounded
    (straight-through: the gradient is the bounding function's), then scaled into [-1, 1]. The codebook is the
    implicit grid, ``prod(levels)`` codes per position; nothing is learned and there is no codebook loss.

    Bounding: ``tanh(z + atanh(offset / half)) * half - offset`` with ``half = (L - 1)(1 + eps) / 2`` and
    ``offset = 1/2`` for even L (else 0), so an even L gets the asymmetric values -L/2 .. L/2 - 1 and bound(0) = 0
    (the centred form of the paper's appendix code, which writes tan and (1 - eps): the same grid).

    ``normalise``: layer-normalise the encoder's output first (over its ``latent_dim`` numbers, no learned scale), as
    fsq-vae does: without it the wide last layer of a conv encoder on 28x28 images drove every number into the
    tanh's flat tails within about 30 Adam steps, after which no gradient passed and every image got one code."""

    kind = "quantised"
    no_bound = ("FSQ rounds a deterministic code onto a fixed grid and trains no prior over it: there is no KL, ELBO "
                "or importance-weighted bound (the rate is fixed, see code_bits)")
    pseudo_count = 0.0  # fitted code frequencies: only codes seen in training (a position has more codes than images)

    def __init__(self, latent_dim: int, levels: tuple[int, ...], eps: float = 1e-3, normalise: bool = False):
        levels = fsq_levels("levels", levels)
        super().__init__(positive_int("latent_dim", latent_dim))
        fsq_positions(self.latent_dim, levels)
        self.levels, self.eps, self.normalise = levels, float(eps), bool(normalise)
        self.positions = self.latent_dim // len(levels)
        self.codebook_size = math.prod(levels)
        width = torch.tensor(levels, dtype=torch.float32)
        self.register_buffer("width", width, persistent=False)  # L per number
        self.register_buffer("half_width", torch.div(width, 2, rounding_mode="floor"), persistent=False)
        self.register_buffer("basis", torch.cumprod(torch.tensor((1, *levels[:-1])), 0), persistent=False)

    def code_bits(self) -> float:
        return self.positions * math.log2(self.codebook_size)

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """Each number of ``z`` (..., len(levels)) squashed into (-L/2, L/2) around the grid of its L values."""
        half = (self.width - 1) * (1 + self.eps) / 2
        offset = (self.width % 2 == 0).to(z.dtype) * 0.5
        return torch.tanh(z + torch.atanh(offset / half)) * half - offset

    def forward(self, h: torch.Tensor) -> QuantisedQ:
        if isinstance(h, tuple):
            raise TypeError("a finite scalar quantiser needs an encoder that returns one tensor (N, latent_dim)")
        h = F.layer_norm(h, h.shape[-1:]) if self.normalise else h  # keeps the tanh responsive (class docstring)
        bounded = self.bound(h.unflatten(-1, (self.positions, len(self.levels))))
        rounded = torch.round(bounded)
        indices = ((rounded.detach() + self.half_width).long() * self.basis).sum(-1)
        return QuantisedQ((bounded / self.half_width).flatten(-2), (rounded / self.half_width).flatten(-2),
                          indices, self.codebook_size)

    def embed(self, indices: torch.Tensor) -> torch.Tensor:
        """Codes (N, latent_dim) in [-1, 1] from indices (N, positions)."""
        digits = torch.div(indices[..., None], self.basis, rounding_mode="floor") % self.basis.new_tensor(self.levels)
        return ((digits - self.half_width) / self.half_width).flatten(-2)

    def code_indices(self, codes: torch.Tensor) -> torch.Tensor:
        """Indices (N, positions) of quantised codes (N, latent_dim), the inverse of ``embed``."""
        grid = codes.unflatten(-1, (self.positions, len(self.levels))) * self.half_width + self.half_width
        return (torch.round(grid).long() * self.basis).sum(-1)

    def eval_metrics(self, model: nn.Module, x: torch.Tensor, q: QuantisedQ) -> dict[str, torch.Tensor]:
        """Code perplexity of the batch: how many of a position's grid codes are effectively in use."""
        return {"perplexity": perplexity(q.indices, self.codebook_size)}
