"""iaf-vae: a conv VAE whose posterior is an inverse autoregressive flow (Kingma et al. 2016): the Gaussian
draw z0 = mu + sigma * eps goes through ``flow_steps`` autoregressive steps, each a MADE (Germain et al. 2015) fed
the previous z and a ``context`` vector from the encoder, giving (m, s) with output i depending on z_<i only:

- ``update="gated"`` (the paper's numerically stable form): sigma_t = sigmoid(s), z <- sigma_t z + (1 - sigma_t) m,
  log|det| = sum log sigma_t;
- ``update="affine"`` (pythae's VAE_IAF): z <- z exp(s) + m, log|det| = sum s.

The Jacobian is triangular, so the log-det is exact; even-numbered steps (the first, the third, ...) read the
dimensions in reverse order, and every step gives them back in the original order. Trained on the ELBO with a
Monte-Carlo KL, log q(z_T|x) = log N(z0; mu, sigma) - sum_t log|det|.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import count, one_of, positive_int, widths
from aezoo.core.flows import FlowQ
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import GaussianQ, Posterior
from aezoo.models.assemble import assemble

UPDATES = ("gated", "affine")
GATE_BIAS = 2.0  # the gate starts near sigmoid(2) = 0.88: each step begins close to the identity (as the paper)


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 ``mask`` (out_features, in_features)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """An autoregressive net over ``dim`` inputs: ReLU layers of widths ``hidden`` with sequential degrees (pythae's
    masks), outputs (m, s), each (..., dim), where output i sees inputs < i only; a ``context`` vector reaches the
    first hidden layer unmasked."""

    def __init__(self, dim: int, hidden: Sequence[int], context: int = 0):
        super().__init__()
        inputs = torch.arange(dim)
        degrees = [inputs] + [torch.arange(width) % max(dim - 1, 1) for width in hidden]
        self.hidden = nn.ModuleList(MaskedLinear((d_out[:, None] >= d_in[None]).float())
                                    for d_in, d_out in zip(degrees, degrees[1:]))
        self.out = MaskedLinear((inputs[:, None] > degrees[-1][None]).float().repeat(2, 1))
        self.context = nn.Linear(context, hidden[0]) if context else None

    def forward(self, z: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        a = z
        for i, layer in enumerate(self.hidden):
            a = layer(a)
            if i == 0 and self.context is not None:
                a = a + self.context(context)
            a = torch.relu(a)
        m, s = self.out(a).chunk(2, -1)
        return m, s


class IAFPosterior(Posterior):
    """The encoder gives (mu, logvar, context); q is N(mu, exp(logvar)) pushed through ``steps`` IAF steps."""

    kind, has_density = "flow", True
    encoder_logvar = True

    def __init__(self, latent_dim: int, steps: int = 2, hidden: Sequence[int] = (64, 64), context: int = 16,
                 update: str = "gated"):
        super().__init__(positive_int("latent_dim", latent_dim))
        self.update = one_of("update", update, UPDATES)
        self.encoder_extra = count("context", context)
        hidden = widths("made_hidden", hidden)
        self.steps = nn.ModuleList(MADE(self.latent_dim, hidden, self.encoder_extra)
                                   for _ in range(count("flow_steps", steps)))
        if self.update == "gated":
            with torch.no_grad():
                for made in self.steps:
                    made.out.bias[self.latent_dim:].fill_(GATE_BIAS)

    def forward(self, h: tuple[torch.Tensor, ...]) -> FlowQ:
        if not isinstance(h, tuple) or len(h) != (3 if self.encoder_extra else 2):
            raise TypeError("an IAF posterior needs an encoder that returns (mu, logvar) and, with a context, "
                            "(mu, logvar, context)")
        mu, logvar, *context = h
        return FlowQ(GaussianQ(mu, logvar), lambda z0: self.flow(z0, context[0] if context else None))

    def flow(self, z: torch.Tensor, context: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """z0 (..., N, D) -> (z_T, sum over steps of log|det dz_t/dz_{t-1}|)."""
        log_det = z.new_zeros(z.shape[:-1])
        for t, made in enumerate(self.steps):
            reverse = t % 2 == 0
            z = z.flip(-1) if reverse else z
            m, s = made(z, context)
            if self.update == "gated":
                z = torch.sigmoid(s) * z + torch.sigmoid(-s) * m  # 1 - sigmoid(s) = sigmoid(-s), exact near 1
                log_det = log_det + F.logsigmoid(s).sum(-1)
            else:
                z = z * s.exp() + m
                log_det = log_det + s.sum(-1)
            z = z.flip(-1) if reverse else z
        return z, log_det


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], flow_steps: int,
          made_hidden: Sequence[int], context: int, update: str, beta: float, likelihood: str,
          warmup: int) -> AutoEncoder:
    posterior = IAFPosterior(latent_dim, flow_steps, made_hidden, context, update)
    return assemble(input_shape, latent_dim, channels=channels, posterior=posterior,
                    objective=ELBO(beta=beta, warmup=warmup), likelihood=likelihood)
