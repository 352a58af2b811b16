"""vq-vae: a convolutional VQ-VAE (van den Oord et al. 2017): the code is split into ``latent_dim / embedding_dim``
vectors, each snapped to the nearest of ``codebook_size`` learned ones (straight-through gradient), trained on the
reconstruction plus the codebook and commitment losses; generation samples codes from a categorical prior."""
from __future__ import annotations

from typing import Sequence

import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.posteriors import VectorQuantiser, perplexity
from aezoo.core.priors import Categorical
from aezoo.models.assemble import assemble


class VQLoss(Objective):
    """-log p(x|z_q) (straight-through) + ||sg(z_e) - z_q||^2 + ``commitment`` ||z_e - sg(z_q)||^2, each summed
    over the code, mean over the batch; ``perplexity`` of the batch's codes is logged as a diagnostic."""

    diagnostics = ("perplexity",)

    def __init__(self, commitment: float = 0.25):
        super().__init__()
        self.commitment = weight("commitment", commitment)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        q = out.q
        rec = model.likelihood.nll(out.logits, batch.x)
        codebook = (q.z_e.detach() - q.z_q).pow(2).sum(-1).mean()
        commitment = (q.z_e - q.z_q.detach()).pow(2).sum(-1).mean()
        loss = rec + codebook + self.commitment * commitment
        return loss, {"reconstruction": rec, "codebook": codebook, "commitment": commitment,
                      "perplexity": perplexity(q.indices, q.codebook_size).to(rec.dtype)}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], codebook_size: int,
          embedding_dim: int, commitment: float, restart_every: int, likelihood: str) -> AutoEncoder:
    quantiser = VectorQuantiser(latent_dim, codebook_size, embedding_dim, restart_every)
    prior = Categorical(latent_dim, quantiser.positions, quantiser.codebook_size)  # uniform: the paper's training prior
    return assemble(input_shape, latent_dim, channels=channels, posterior=quantiser, prior=prior,
                    objective=VQLoss(commitment), likelihood=likelihood, sampler="categorical")
