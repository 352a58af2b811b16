"""Flow posteriors: a diagonal Gaussian q0(z0|x) pushed through invertible steps (IAF, planar, radial flows).

The density of a flowed draw is log q(z_T|x) = log q0(z0|x) - sum_t log|det dz_t/dz_{t-1}|. It is known at the
flow's own draws only (a planar flow has no closed-form inverse), so ``FlowQ`` computes it with each sample and
``log_prob`` gives it back for the very tensor ``sample`` returned: the ELBO, the KL estimate and the
importance-weighted bound all pass ``log_prob`` the draws they decode.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

import torch

from aezoo.core.posteriors import GaussianQ

Flow = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # z0 (..., N, D) -> (z_T, sum log|det J| (..., N))


class FlowQ:
    """q(z_T|x): the Gaussian ``base`` q0(z0|x) pushed through ``flow`` (bound to this batch's flow parameters)."""

    kind = "flow"
    has_density = True
    remembered = 4  # the latest draws whose log-density log_prob can give back

    def __init__(self, base: GaussianQ, flow: Flow):
        self.base, self.flow = base, flow
        self.drawn: deque[tuple[torch.Tensor, torch.Tensor]] = deque(maxlen=self.remembered)

    @property
    def mean(self) -> torch.Tensor:
        """The flow's output at the base mean (eps = 0): the code figures show. It is not E_q[z_T], which has no
        closed form."""
        return self.flow(self.base.mu)[0]

    def sample(self, k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Differentiable draws z_T: (N, D), or (k, N, D) for ``k`` draws per image; their log q is kept."""
        z0 = self.base.sample(k, generator)
        z, log_det = self.flow(z0)
        return self.remember(z, self.base.log_prob(z0) - log_det)

    def remember(self, z: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
        self.drawn.append((z, log_q))
        return z

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z_T|x) summed over latent dims, for ``z`` a tensor that ``sample`` returned (one of the latest
        ``remembered``)."""
        for drawn, log_q in reversed(self.drawn):
            if drawn is z:
                return log_q
        raise ValueError("a flow posterior's density is known at its own draws only: pass log_prob the tensor that "
                         "sample() returned")
