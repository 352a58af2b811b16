"""rae-l2 and rae-gp: convolutional regularised autoencoders (Ghosh et al. 2020, "From variational to deterministic
autoencoders"): a deterministic code with ||z||^2 / 2 and a decoder penalty, the L2 norm of its weights (``penalty``
'l2') or its gradient (``'gp'``), instead of the KL; samples come from a Gaussian mixture fitted to training codes."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import PENALTIES, one_of, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.models.assemble import assemble


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
        self.penalty = one_of("penalty", penalty, PENALTIES)
        self.embedding_weight = weight("embedding_weight", embedding_weight)
        self.reg_weight = weight("reg_weight", reg_weight)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        embedding = 0.5 * out.z.pow(2).sum(-1).mean()
        if self.penalty == "l2":
            reg = decoder_l2(model.decoder)
        else:
            reg = decoder_gradient_penalty(lambda z: model.likelihood.mean(model.decoder(z)), out.z).mean()
        loss = rec + self.embedding_weight * embedding + self.reg_weight * reg
        return loss, {"reconstruction": rec, "embedding": embedding, f"decoder_{self.penalty}": reg}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], penalty: str,
          embedding_weight: float, reg_weight: float, likelihood: str) -> AutoEncoder:
    return assemble(input_shape, latent_dim, channels=channels, posterior="point",
                    objective=RAELoss(penalty, embedding_weight, reg_weight), likelihood=likelihood, sampler="gmm")
