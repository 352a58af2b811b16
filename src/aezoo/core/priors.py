"""Priors p(z): the standard normal, a learned VampPrior, a uniform categorical over one-hot codes, and ex-post
density estimates fitted to training codes (a full-covariance Gaussian, a Gaussian mixture, a per-position
categorical for quantised codes; a flow and a second-stage VAE live in core/maf.py and core/two_stage.py).

Each can ``log_prob`` codes and ``sample`` them; ``title`` names the distribution in figure titles. A prior that
needs the rest of the model (a VampPrior encodes its pseudo-inputs; a categorical prior embeds its indices) is
bound to it by the AutoEncoder.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.distributions import Independent, MultivariateNormal, Normal, OneHotCategorical

from aezoo.core.checks import positive_int

JITTER = 1e-5  # added to fitted covariance diagonals so that they can always be factorised


def _randn(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=like.dtype)
    return torch.randn(shape, generator=generator).to(like.device, like.dtype)


class Prior(nn.Module):
    """p(z) over codes (N, latent_dim)."""

    title = "the prior"
    has_density = True

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)  # follows the model's device/dtype

    def bind(self, model: nn.Module) -> None:
        """Called by the AutoEncoder that owns this prior (kept out of the module tree: no double registration)."""
        self.__dict__["_model"] = model

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def distribution(self) -> Any:
        """A torch.distributions object when there is one (enables closed-form KL), else None."""
        return None


class StandardNormal(Prior):
    title = "the prior N(0, I)"

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return _randn((n, self.latent_dim), generator, self._anchor)

    def distribution(self) -> Independent:
        zeros = self._anchor.new_zeros(self.latent_dim)
        return Independent(Normal(zeros, torch.ones_like(zeros), validate_args=False), 1, validate_args=False)


class VampPrior(Prior):
    """p(z) = (1/K) sum_k q(z | u_k): a mixture of the model's own posteriors at K learned pseudo-inputs
    (Tomczak & Welling 2018). Pseudo-inputs are kept in [0, 1] by a hard tanh, as in the paper."""

    def __init__(self, latent_dim: int, input_shape: tuple[int, int, int], components: int = 50):
        super().__init__(latent_dim)
        self.components = positive_int("components", components)
        self.pseudo_inputs = nn.Parameter(0.5 + 0.05 * torch.randn(self.components, *input_shape))
        self.title = f"the VampPrior ({self.components} pseudo-inputs)"

    def pseudo_posteriors(self):
        u = torch.nn.functional.hardtanh(self.pseudo_inputs, 0.0, 1.0)
        return self.__dict__["_model"].infer(u)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        q = self.pseudo_posteriors()
        per_component = q.distribution().log_prob(z.unsqueeze(-2))  # (..., N, K)
        return torch.logsumexp(per_component, -1) - math.log(self.components)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        q = self.pseudo_posteriors()
        pick = torch.randint(self.components, (n,), generator=generator).to(q.mu.device)
        return q.mu[pick] + _randn((n, self.latent_dim), generator, q.mu) * q.std[pick]


class UniformCategorical(Prior):
    """Independent uniform categoricals over ``categories`` for each of ``variables``, on one-hot codes (N,
    variables * categories): every code has mass categories^-variables (the Gumbel-softmax VAE's prior)."""

    uniform_categorical = True  # a categorical posterior's closed-form KL to it (CategoricalQ.kl_to)

    def __init__(self, variables: int, categories: int):
        super().__init__(variables * categories)
        self.variables, self.categories = int(variables), int(categories)
        self.title = f"the uniform categorical prior ({variables} variables x {categories} categories)"

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) of one-hot codes: -variables * log(categories)."""
        return -math.log(self.categories) * z.unflatten(-1, (self.variables, self.categories)).sum((-2, -1))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        picks = torch.randint(self.categories, (n, self.variables), generator=generator)
        return torch.nn.functional.one_hot(picks, self.categories).flatten(1).to(self._anchor.device,
                                                                                  self._anchor.dtype)

    def distribution(self) -> Independent:
        logits = self._anchor.new_zeros(self.variables, self.categories)
        return Independent(OneHotCategorical(logits=logits, validate_args=False), 1, validate_args=False)


class FittedGaussian(Prior):
    """A full-covariance Gaussian fitted ex post to training codes."""

    title = "a Gaussian fitted to the training codes"

    def __init__(self, codes: torch.Tensor):
        codes = codes.detach().double().cpu()
        if codes.dim() != 2 or len(codes) == 0:
            raise ValueError(f"codes must be a non-empty (N, latent_dim) tensor, got shape {tuple(codes.shape)}")
        super().__init__(codes.shape[1])
        d = codes.shape[1]
        cov = torch.cov(codes.T).reshape(d, d) if len(codes) > 1 else torch.zeros(d, d, dtype=torch.float64)
        self.register_buffer("loc", codes.mean(0).float())
        self.register_buffer("scale_tril", torch.linalg.cholesky(cov + JITTER * torch.eye(d, dtype=torch.float64))
                             .float())

    def distribution(self) -> MultivariateNormal:
        return MultivariateNormal(self.loc, scale_tril=self.scale_tril)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return self.distribution().log_prob(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn((n, self.latent_dim), generator=generator, dtype=torch.float64)
        return (self.loc.double().cpu() + eps @ self.scale_tril.double().cpu().T).float().to(self.loc.device)


class FittedMixture(Prior):
    """A Gaussian mixture fitted ex post to training codes with scikit-learn (pythae's GMM sampler)."""

    def __init__(self, codes: torch.Tensor, components: int = 10, seed: int = 0):
        from sklearn.mixture import GaussianMixture

        codes = codes.detach().double().cpu().numpy()
        super().__init__(codes.shape[1])
        k = max(1, min(int(components), len(codes)))
        self.gmm = GaussianMixture(k, covariance_type="full", reg_covar=JITTER, random_state=seed).fit(codes)
        self.title = f"a {k}-component Gaussian mixture fitted to the training codes"

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        flat = z.detach().reshape(-1, self.latent_dim).double().cpu().numpy()
        return torch.from_numpy(self.gmm.score_samples(flat)).reshape(z.shape[:-1]).to(z.device, z.dtype)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        self.gmm.random_state = seed
        draws, _ = self.gmm.sample(n)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))  # sklearn returns them by component
        return torch.from_numpy(draws).float()[order]


class Categorical(Prior):
    """Independent categorical distributions over codebook entries, one per code position (VQ-VAE). Uniform
    when built (the VQ-VAE paper's training prior); ``fit`` sets each position's frequencies from codes."""

    has_density = False  # a mass over discrete codes, not a density over continuous ones

    def __init__(self, latent_dim: int, positions: int, codebook_size: int):
        super().__init__(latent_dim)
        self.positions, self.codebook_size = int(positions), int(codebook_size)
        self.register_buffer("logits", torch.zeros(positions, codebook_size))
        self.title = f"a uniform categorical over {codebook_size} codes at each of {positions} positions"

    @torch.no_grad()
    def fit(self, indices: torch.Tensor, pseudo_count: float = 1.0) -> "Categorical":
        """Per-position frequencies of training code ``indices`` (N, positions), each count plus ``pseudo_count``
        (1: add-one smoothing; 0: only codes seen at that position are ever drawn)."""
        counts = torch.stack([torch.bincount(indices[:, p].cpu(), minlength=self.codebook_size)
                              for p in range(self.positions)]).float() + float(pseudo_count)
        self.logits.copy_(counts.log().to(self.logits.device))
        self.title = f"a categorical per code position fitted to the training codes ({self.codebook_size} codes)"
        return self

    def log_mass(self, indices: torch.Tensor) -> torch.Tensor:
        """log p(indices) summed over positions, for indices (N, positions)."""
        logp = torch.log_softmax(self.logits, -1)
        return logp.gather(1, indices.T).sum(0)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        probs = torch.softmax(self.logits.float().cpu(), -1)
        indices = torch.multinomial(probs, n, replacement=True, generator=generator).T  # (n, positions)
        return self.__dict__["_model"].posterior.embed(indices.to(self.logits.device))
