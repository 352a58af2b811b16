"""The VQ-VAE objective (van den Oord et al. 2017); imported by models/vq_vae.py when a model is built."""
from __future__ import annotations

import torch

from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.posteriors import perplexity


class VQLoss(Objective):
    """-log p(x|z_q) (straight-through) + ||sg(z_e) - z_q||^2 + ``commitment`` ||z_e - sg(z_q)||^2, each summed
    over the code, mean over the batch; ``perplexity`` of the batch's codes is logged as a diagnostic."""

    diagnostics = ("perplexity",)

    def __init__(self, commitment: float = 0.25):
        super().__init__()
        if not commitment >= 0:
            raise ValueError(f"commitment must be a number >= 0, got {commitment}")
        self.commitment = float(commitment)

    def forward(self, model, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        q = out.q
        rec = model.likelihood.nll(out.logits, batch.x)
        codebook = (q.z_e.detach() - q.z_q).pow(2).sum(-1).mean()
        commitment = (q.z_e - q.z_q.detach()).pow(2).sum(-1).mean()
        loss = rec + codebook + self.commitment * commitment
        return loss, {"reconstruction": rec, "codebook": codebook, "commitment": commitment,
                      "perplexity": perplexity(q.indices, q.codebook_size).to(rec.dtype)}
