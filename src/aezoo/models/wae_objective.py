"""The WAE-MMD objective (Tolstikhin et al. 2018); imported by models/wae_mmd.py when a model is built."""
from __future__ import annotations

import torch

from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import imq_mmd

EVAL_SEED = 0  # prior draws for the evaluation MMD are seeded: the same model gets the same number


class WAEMMDLoss(Objective):
    """-log p(x|z) + ``reg_weight`` MMD^2_IMQ(codes of the batch, as many draws from the prior), the unbiased
    estimate with WAE's multi-scale inverse multiquadric kernel (``kernel_scale``: the prior's variance)."""

    def __init__(self, reg_weight: float = 10.0, kernel_scale: float = 1.0):
        super().__init__()
        if not reg_weight >= 0 or not kernel_scale > 0:
            raise ValueError(f"reg_weight must be >= 0 and kernel_scale > 0, got {reg_weight} and {kernel_scale}")
        self.reg_weight, self.kernel_scale = float(reg_weight), float(kernel_scale)

    def forward(self, model, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        mmd = imq_mmd(out.z, model.prior.sample(len(out.z)).to(out.z.dtype), self.kernel_scale)
        return rec + self.reg_weight * mmd, {"reconstruction": rec, "mmd": mmd}

    def eval_metrics(self, model, x: torch.Tensor, q) -> dict[str, torch.Tensor]:
        """MMD^2 between the batch's codes and as many (seeded) prior draws: how close the aggregate posterior
        is to the prior that generation samples from."""
        if len(x) < 2:
            return {}
        draws = model.prior.sample(len(x), torch.Generator().manual_seed(EVAL_SEED))
        return {"mmd": imq_mmd(q.mean, draws.to(q.mean.dtype), self.kernel_scale)}
