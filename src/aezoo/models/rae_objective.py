"""The RAE objectives (Ghosh et al. 2020, "From variational to deterministic autoencoders"); imported by
models/rae_l2.py and models/rae_gp.py when a model is built."""
from __future__ import annotations

import torch
from torch import nn

from aezoo.core.interfaces import Batch, Objective, Step

PENALTIES = ("l2", "gp")


def decoder_l2(decoder: nn.Module) -> torch.Tensor:
    """||theta_D||^2: the sum of squares of all the decoder's parameters (RAE-L2)."""
    return sum(p.pow(2).sum() for p in decoder.parameters())


def decoder_gradient_penalty(decode, z: torch.Tensor) -> torch.Tensor:
    """||d sum(D(z)) / dz||^2 per image, D(z) the decoded image in pixel space (RAE-GP, as the paper's and
    pythae's code). The graph is kept when gradients are on (training), so that the penalty trains."""
    training = torch.is_grad_enabled()
    with torch.enable_grad():
        z = z if z.requires_grad else z.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(decode(z).sum(), z, create_graph=training)
    return grad.pow(2).sum(-1)


class RAELoss(Objective):
    """-log p(x|z) + ``embedding_weight`` ||z||^2 / 2 + ``reg_weight`` * (||theta_D||^2 for ``penalty="l2"``,
    ||dD(z)/dz||^2 for ``"gp"``), per image, mean over the batch; the encoder is deterministic."""

    def __init__(self, penalty: str, embedding_weight: float = 1e-4, reg_weight: float = 1e-7):
        super().__init__()
        if penalty not in PENALTIES:
            raise ValueError(f"unknown RAE penalty {penalty!r}; expected one of {', '.join(PENALTIES)}")
        if not embedding_weight >= 0 or not reg_weight >= 0:
            raise ValueError(f"embedding_weight and reg_weight must be >= 0, got {embedding_weight} and {reg_weight}")
        self.penalty, self.embedding_weight, self.reg_weight = penalty, float(embedding_weight), float(reg_weight)

    def forward(self, model, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        embedding = 0.5 * out.z.pow(2).sum(-1).mean()
        if self.penalty == "l2":
            reg = decoder_l2(model.decoder)
        else:
            reg = decoder_gradient_penalty(lambda z: model.likelihood.mean(model.decoder(z)), out.z).mean()
        loss = rec + self.embedding_weight * embedding + self.reg_weight * reg
        return loss, {"reconstruction": rec, "embedding": embedding, f"decoder_{self.penalty}": reg}
