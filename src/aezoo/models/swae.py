"""swae: the sliced-Wasserstein autoencoder (Kolouri et al. 2019), a conv autoencoder with a deterministic code
pulled towards the prior N(0, I) by ``reg_weight`` x the sliced Wasserstein distance SW_2^2 between the batch's
codes and as many prior draws: both projected on ``projections`` random directions drawn afresh each step, each
projection sorted, sorted values matched. Samples come from the prior. There is no posterior density, hence no
ELBO or IW bound; ``zoo eval`` reports the sliced Wasserstein distance of the test codes to the prior instead.
``reg_weight`` weighs SW_2^2 (a mean over directions and codes) against the reconstruction summed over pixels; the
paper's lambda = 10 weighed it against per-pixel means, so it pulled harder there."""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import positive_int, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.models.assemble import assemble

EVAL_SEED = 0  # the evaluation's prior draws and directions are seeded: the same model gets the same number
EVAL_PROJECTIONS = 1000


def random_directions(n: int, dim: int, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` directions uniform on the unit sphere in ``dim`` dimensions: (n, dim)."""
    if generator is None:
        draws = torch.randn(n, dim, device=like.device, dtype=like.dtype)
    else:
        draws = torch.randn(n, dim, generator=generator).to(like.device, like.dtype)
    return F.normalize(draws, dim=-1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """SW_2^2 between the samples ``a`` and ``b`` (N, D) each, along ``directions`` (L, D): the squared difference
    of the sorted projections, averaged over the N matched pairs and the L directions."""
    if a.shape != b.shape:
        raise ValueError(f"the sliced Wasserstein distance matches sorted samples one to one: it needs as many on "
                         f"each side, got {tuple(a.shape)} and {tuple(b.shape)}")
    pa, pb = (a @ directions.T).sort(0).values, (b @ directions.T).sort(0).values
    return (pa - pb).pow(2).mean()


class SWLoss(Objective):
    """-log p(x|z) + ``reg_weight`` SW_2^2(codes, as many prior draws) along ``projections`` fresh directions."""

    def __init__(self, reg_weight: float = 10.0, projections: int = 50):
        super().__init__()
        self.reg_weight, self.projections = weight("reg_weight", reg_weight), positive_int("projections", projections)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        draws = model.prior.sample(len(out.z)).to(out.z.dtype)
        sw = sliced_wasserstein(out.z, draws, random_directions(self.projections, out.z.shape[1], out.z))
        return rec + self.reg_weight * sw, {"reconstruction": rec, "sliced_wasserstein": sw}

    def eval_metrics(self, model: AutoEncoder, x: torch.Tensor, q: Any) -> dict[str, torch.Tensor]:
        """``sliced_wasserstein``: SW_2^2 between the batch's codes and as many seeded prior draws, along
        EVAL_PROJECTIONS seeded directions (0 when the codes are distributed as the prior)."""
        generator = torch.Generator().manual_seed(EVAL_SEED)
        draws = model.prior.sample(len(x), generator=generator).to(q.mean.dtype)
        directions = random_directions(EVAL_PROJECTIONS, q.mean.shape[1], q.mean, generator)
        return {"sliced_wasserstein": sliced_wasserstein(q.mean, draws, directions)}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], reg_weight: float,
          projections: int, likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="point",
                    objective=SWLoss(reg_weight, projections), likelihood=likelihood, sampler="prior")
