"""piwae: the partially importance-weighted autoencoder (Rainforth et al. 2018), a conv VAE whose encoder ascends
the MIWAE(M, K) bound and whose decoder ascends the IWAE bound on all M x K draws, the same draws for both.

Gradient routing, not two optimisers: aezoo steps the encoder and decoder with one optimiser on one backward pass,
so the loss is built so that each network's gradient comes from its own bound only. The encoder's term decodes
the draws with the decoder's weights detached (``frozen``): its gradient reaches the encoder only, through the
draws z = mu + sigma eps and log q(z|x). The decoder's term decodes the same draws detached from the encoder,
with log p(z) - log q(z|x) detached: its gradient reaches the decoder only. That costs a second decoder pass and
nothing else; the loss's value is the encoder's, -MIWAE(M, K) (the decoder's term enters as t - t.detach(), zero
in value). The prior N(0, I) and the likelihoods have no trained parameters here (a learned one would get both
gradients)."""
from __future__ import annotations

from typing import Sequence

import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import positive_int
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import frozen, iw_bound
from aezoo.models.assemble import assemble
from aezoo.models.miwae import miwae_bound


class PIWAEBounds(Objective):
    """Encoder: -MIWAE(``m``, ``k``); decoder: -IWAE(``m`` x ``k``), on the same ``m`` x ``k`` draws per image.
    Parts: ``neg_miwae_bound`` (the loss's value), ``neg_iw_bound`` (the decoder's bound), and the measurements
    ``reconstruction`` and ``kl`` averaged over the draws."""

    diagnostics = ("reconstruction", "kl")

    def __init__(self, m: int = 4, k: int = 4):
        super().__init__()
        self.m, self.k = positive_int("m", m), positive_int("k", k)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        draws = self.m * self.k
        q = model.infer(batch.inputs)
        z = q.sample(draws)  # (M x K, N, D)
        log_pz, log_qz = model.prior.log_prob(z), q.log_prob(z)
        for_encoder = frozen(model.decoder, z.flatten(0, 1)).unflatten(0, (draws, -1))
        for_decoder = model.decoder(z.detach().flatten(0, 1)).unflatten(0, (draws, -1))
        log_px = model.likelihood.log_prob(for_encoder, batch.x)
        encoder_loss = -miwae_bound(log_px, log_pz, log_qz, self.m).mean()
        log_px_decoder = model.likelihood.log_prob(for_decoder, batch.x)
        decoder_loss = -iw_bound(log_px_decoder, log_pz.detach(), log_qz.detach()).mean()
        loss = encoder_loss + (decoder_loss - decoder_loss.detach())
        return loss, {"neg_miwae_bound": encoder_loss, "neg_iw_bound": decoder_loss,
                      "reconstruction": -log_px.mean(), "kl": (log_qz - log_pz).mean()}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], m: int, k: int,
          likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian", objective=PIWAEBounds(m, k),
                    likelihood=likelihood)
