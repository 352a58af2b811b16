"""The AutoEncoder: one Encoder, one Decoder and one Objective, with an optional training-time corruption."""
from __future__ import annotations

import torch
from torch import nn

from aezoo.core.interfaces import Decoder, Encoder, Objective, Output


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Draw z ~ N(mu, exp(logvar)) differentiably: the one place aezoo samples a posterior."""
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()


class AutoEncoder(nn.Module):
    """An autoencoder built from parts. ``corruption`` (if any) is applied to inputs while training only;
    the objective always compares against the clean batch (denoising, inpainting)."""

    def __init__(self, encoder: Encoder, decoder: Decoder, objective: Objective,
                 input_shape: tuple[int, int, int], corruption: nn.Module | None = None):
        super().__init__()
        self.encoder, self.decoder, self.objective = encoder, decoder, objective
        self.corruption = corruption
        self.input_shape = tuple(int(d) for d in input_shape)
        self.latent_dim = int(encoder.latent_dim)

    @property
    def variational(self) -> bool:
        return bool(getattr(self.encoder, "variational", False))

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(mu, logvar)`` of q(z|x); ``logvar`` is None for a deterministic encoder."""
        h = self.encoder(x)
        return (h[0], h[1]) if isinstance(h, tuple) else (h, None)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of ``x``: the posterior mean for variational models."""
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] decoded from codes."""
        return torch.sigmoid(self.decoder(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` draws from the prior N(0, I); only meaningful for variational models."""
        if not self.variational:
            raise ValueError(
                "a plain autoencoder's latent space is not regularised towards N(0, I), so prior samples are "
                "not meaningful; use aezoo.generate.sample(model, n, codes=...) to sample from a Gaussian fitted "
                "to its codes"
            )
        p = next(self.parameters())
        z = torch.randn(n, self.latent_dim, generator=generator, device=p.device if generator is None else "cpu")
        return self.decode(z.to(p.device, p.dtype))

    def forward(self, x: torch.Tensor) -> Output:
        mu, logvar = self.posterior(x)
        z = mu if logvar is None else reparameterise(mu, logvar)
        return Output(logits=self.decoder(z), z=z, mu=mu, logvar=logvar)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The objective on a clean batch ``x``; the input is corrupted first when training."""
        inputs = self.corruption(x) if (self.training and self.corruption is not None) else x
        return self.objective(x, self(inputs))
