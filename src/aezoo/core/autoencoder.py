"""The AutoEncoder: an Encoder, a posterior q(z|x), a Decoder, a prior p(z), a likelihood p(x|z) and an
Objective, with an optional training-time corruption and optional auxiliary networks (a discriminator) that
train with their own optimiser. Training, evaluation, sampling and figures all read these same parts."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn

from aezoo.core.interfaces import DONE, Batch, Decoder, Encoder, Objective, Output, Step
from aezoo.core.likelihoods import Likelihood, make_likelihood
from aezoo.core.posteriors import PointPosterior, Posterior, check_kind
from aezoo.core.priors import Prior, StandardNormal
from aezoo.errors import DatasetError

SAMPLERS = ("prior", "gaussian", "gmm", "maf", "two-stage", "categorical")
CONDITIONAL = "the model is conditional (it reads the class labels of its images)"


def require_labels(model: "AutoEncoder", labels: Any, what: str) -> None:
    """A conditional model given no labels: a one-line error saying what lacks them (``what``: "dataset 'x'")."""
    if labels is None and model.conditional:
        raise DatasetError(f"{CONDITIONAL} but {what} has no labels; give labelled data (npz: a y array beside "
                           f"x; folder: one subfolder per class)")


@dataclass(frozen=True)
class Capabilities:
    """What a model can do, read by evaluation, sampling and figures instead of guessing from its family."""

    posterior: str  # its kind, one of aezoo.core.posteriors.KINDS: "gaussian", "point", "quantised", "flow", ...
    posterior_density: bool  # q(z|x) has a density: ELBO, KL and importance-weighted bounds are defined
    prior_density: bool  # p(z) has a density
    prior_title: str  # "the prior N(0, I)", "the VampPrior (50 pseudo-inputs)", ...
    sampler: str  # what `zoo sample` draws from by default: "prior", or an ex-post fit to training codes
    corruption: tuple[str, float] | None  # the training-time corruption (denoising, inpainting)
    aux: tuple[str, ...]  # auxiliary networks with their own optimiser
    conditional: bool = False  # the encoder, decoder or objective reads class labels: data must have them
    likelihood_unused: str = ""  # why the objective does not train the likelihood p(x|z) (empty: it does)

    @property
    def likelihood_bound(self) -> bool:
        """The model defines -ELBO and IW-NLL on its own terms."""
        return self.posterior_density and self.prior_density and not self.likelihood_unused


def check_objective(objective: Objective) -> None:
    """An objective is called ``objective(model, batch, step)`` (plugin API 2): refuse one whose ``forward`` cannot
    be called so when the model is built, not with an AttributeError in the middle of training."""
    try:
        signature = inspect.signature(objective.forward)
        signature.bind(None, None, None)
    except AttributeError:
        raise TypeError(f"objective {type(objective).__name__} has no forward(model, batch, step)") from None
    except TypeError:
        raise TypeError(f"objective {type(objective).__name__}.forward{signature} must take (model, batch, step), "
                        f"as aezoo plugin API 2 calls it; see 'Porting a plugin from API 1' in docs/plugins.md") from None
    except ValueError:  # no signature to read (a builtin): the first call decides
        pass


class AutoEncoder(nn.Module):
    """An autoencoder built from parts. ``corruption`` (if any) is applied to inputs while training only; the
    objective compares against the clean batch. ``sampler`` names what generation draws from by default:
    ``"prior"`` (the model's prior is what training pulled the codes towards) or an ex-post fit to training codes
    (``"gaussian"``, ``"gmm"``, ``"maf"``, ``"two-stage"``, ``"categorical"``). ``aux`` networks (e.g. ``{"discriminator": net}``) get their
    own optimiser, configured by ``aux_optimizers`` (e.g. ``{"discriminator": {"lr": 1e-4}}``)."""

    def __init__(self, encoder: Encoder, decoder: Decoder, objective: Objective, input_shape: tuple[int, int, int],
                 *, posterior: Posterior | None = None, prior: Prior | None = None,
                 likelihood: Likelihood | str = "bernoulli", corruption: nn.Module | None = None,
                 aux: Mapping[str, nn.Module] | None = None, aux_optimizers: Mapping[str, dict] | None = None,
                 sampler: str | None = None):
        super().__init__()
        self.input_shape = tuple(int(d) for d in input_shape)
        self.latent_dim = int(encoder.latent_dim)
        check_objective(objective)
        posterior = posterior if posterior is not None else PointPosterior(self.latent_dim)
        check_kind(posterior)
        self.encoder, self.posterior, self.decoder = encoder, posterior, decoder
        self.prior = prior if prior is not None else StandardNormal(self.latent_dim)
        self.likelihood = make_likelihood(likelihood, self.input_shape)
        self.objective, self.corruption = objective, corruption
        self.aux = nn.ModuleDict(dict(aux or {}))
        self.aux_optimizers = {name: dict((aux_optimizers or {}).get(name, {})) for name in self.aux}
        self.sampler = sampler or ("prior" if posterior.has_density else "gaussian")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; expected one of {', '.join(SAMPLERS)}")
        for part in (self.prior, self.posterior, self.objective):
            if hasattr(part, "bind"):
                part.bind(self)

    @property
    def capabilities(self) -> Capabilities:
        c = self.corruption
        corruption = (getattr(c, "kind", type(c).__name__), float(getattr(c, "level", 0.0))) if c is not None else None
        return Capabilities(self.posterior.kind, bool(self.posterior.has_density), bool(self.prior.has_density),
                            self.prior.title, self.sampler, corruption, tuple(self.aux), self.conditional,
                            str(getattr(self.objective, "likelihood_unused", "")))

    @property
    def conditional(self) -> bool:
        """The encoder, decoder or objective reads the class labels (``conditional = True`` on the part)."""
        return any(getattr(part, "conditional", False) for part in (self.encoder, self.decoder, self.objective))

    def _labels(self, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise ValueError(f"{CONDITIONAL}: pass the class labels y (N,) of the images")
        return y

    # --- the training path (with gradients); ``y``: class labels (N,), read only by a conditional model ---
    def infer(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Any:
        """q(z|x) (q(z|x, y) for a conditional encoder) for a batch: a GaussianQ, PointQ, QuantisedQ, ..."""
        conditional = getattr(self.encoder, "conditional", False)
        return self.posterior(self.encoder(x, self._labels(y)) if conditional else self.encoder(x))

    def logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's logits for codes (N, D), or for draws (k, N, D) of N images (then (k, N, C, H, W))."""
        draws = z.dim() == 3
        flat = z.flatten(0, 1) if draws else z
        if getattr(self.decoder, "conditional", False):
            y = self._labels(y)
            logits = self.decoder(flat, y.repeat(z.shape[0]) if draws else y)
        else:
            logits = self.decoder(flat)
        return logits.unflatten(0, z.shape[:2]) if draws else logits

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Output:
        q = self.infer(x, y)
        z = q.sample()
        return Output(logits=self.logits(z, y), z=z, q=q)

    def loss(self, x: torch.Tensor, step: Step | None = None,
             y: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The objective on a clean batch ``x`` (labels ``y`` for a conditional model); the input is corrupted first
        when training."""
        inputs = self.corruption(x) if (self.training and self.corruption is not None) else x
        return self.objective(self, Batch(x, inputs, y), step if step is not None else DONE)

    def after_step(self, step: Step) -> bool:
        """Called by the Trainer after each optimiser step; parts with an ``after_step`` hook act here
        (e.g. restarting dead VQ codes). True when a hook says it changed weights outside the optimiser."""
        changed = False
        for part in (self.posterior, self.prior, self.objective):
            hook = getattr(part, "after_step", None)
            if hook is not None:
                changed = bool(hook(self, step)) or changed
        return changed

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per optimiser: ``"model"`` (everything but the aux networks) and one per aux network."""
        aux_ids = {id(p) for p in self.aux.parameters()}
        groups = {"model": [p for p in self.parameters() if id(p) not in aux_ids]}
        groups.update({name: list(net.parameters()) for name, net in self.aux.items()})
        return groups

    def eval_metrics(self, x: torch.Tensor, q: Any) -> dict[str, torch.Tensor]:
        """Family-specific metrics of one evaluation batch (means over it), from parts with an
        ``eval_metrics(model, x, q)`` method (e.g. codebook perplexity, MMD to the prior)."""
        out: dict[str, torch.Tensor] = {}
        for part in (self.posterior, self.prior, self.objective):
            fn = getattr(part, "eval_metrics", None)
            if fn is not None:
                out.update(fn(self, x, q))
        return out

    # --- inference (no gradients; plain tensors) ---
    @torch.no_grad()
    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The code of ``x``: the posterior mean (the quantised code for VQ models)."""
        return self.infer(x, y).mean.detach()

    @torch.no_grad()
    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [0, 1] decoded from codes (N, D) (for a conditional model, of labels ``y``)."""
        return self.likelihood.mean(self.logits(z, y))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x, y), y)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decode ``n`` draws from the model's prior (``capabilities.prior_title``); a conditional model decodes them
        as the classes ``y`` (n,). For models whose training does not shape the prior
        (``capabilities.sampler != "prior"``) use ``aezoo.core.sampling.sample``, which fits a density to the
        training codes."""
        if self.sampler != "prior":
            raise ValueError(
                f"this model's training does not pull its codes towards {self.prior.title}, so prior samples are not "
                f"meaningful; use aezoo.core.sampling.sample(model, n, codes=...), which draws from a density fitted to "
                f"its training codes (sampler {self.sampler!r})"
            )
        z = self.prior.sample(n, generator=generator)
        p = next(self.parameters())
        return self.decode(z.to(p.device, p.dtype), y)
