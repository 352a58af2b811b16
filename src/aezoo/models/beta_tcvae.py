"""beta-tcvae: beta-TCVAE (Chen et al. 2018), a conv VAE trained on rec + alpha MI + beta TC + gamma dimension-wise
KL on one draw per image, where MI = log q(z|x) - log q(z), TC = log q(z) - sum_d log q(z_d), dim-KL =
sum_d log q(z_d) - log p(z), and q(z), q(z_d) are estimated from the minibatch (section 4.1 and appendix C).

Minibatch-weighted sampling here averages q(z_i | x_j) over the batch (weights 1/M): when the batch is the whole
dataset that is q(z_i) exactly. The paper writes the weights as 1/(N M), which shifts log q(z) and each log q(z_d)
by -log N: MI by +log N, TC by (D - 1) log N, the dimension-wise KL by -D log N, with the same gradients."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch.distributions import Normal

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import SAMPLINGS, count, one_of, stratified_sampling, tc_weights
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.models.assemble import assemble


def pairwise_log_q(z: torch.Tensor, mu: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log q(z_i,d | x_j) for every pair (i, j) and dimension d: (M, M, D)."""
    return Normal(mu.unsqueeze(0), std.unsqueeze(0), validate_args=False).log_prob(z.unsqueeze(1))


def log_weights(m: int, n: int, sampling: str, like: torch.Tensor) -> torch.Tensor:
    """log of the weight of q(z_i | x_j) in the estimate of q(z_i): (M, M), each row summing to 1. MWS: 1 / M
    everywhere. MSS (dataset of ``n`` images): 1/N for j = i, (N - M + 1) / (N (M - 1)) for one other j,
    1 / (M - 1) for the rest."""
    if sampling == "mws":
        return like.new_full((m, m), -math.log(m))
    if m < 2 or n < m:
        raise ValueError(f"minibatch-stratified sampling needs 2 <= batch size <= dataset_size, got {m} and {n}")
    w = like.new_full((m, m), 1.0 / (m - 1))
    idx = torch.arange(m, device=like.device)
    w[idx, (idx + 1) % m] = (n - m + 1) / (n * (m - 1))
    w[idx, idx] = 1.0 / n
    return w.log()


def tc_terms(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, log_pz: torch.Tensor,
             dataset_size: int, sampling: str = "mws") -> dict[str, torch.Tensor]:
    """Per-image MI, TC and dimension-wise KL estimates from one draw ``z`` per image (each (M,)); they sum to
    log q(z|x) - log p(z). ``dataset_size`` is used by MSS only."""
    std = (0.5 * logvar).exp()
    log_qzx = Normal(mu, std, validate_args=False).log_prob(z).sum(-1)
    pairs = pairwise_log_q(z, mu, std)
    log_w = log_weights(len(z), dataset_size, sampling, z)
    log_qz = torch.logsumexp(log_w + pairs.sum(-1), 1)
    log_prod_qzd = torch.logsumexp(log_w.unsqueeze(-1) + pairs, 1).sum(-1)
    return {"mi": log_qzx - log_qz, "tc": log_qz - log_prod_qzd, "dim_kl": log_prod_qzd - log_pz}


class TCDecomposition(Objective):
    """rec + alpha MI + beta TC + gamma dimension-wise KL (alpha = beta = gamma = 1: the VAE with a
    Monte-Carlo KL). ``dataset_size``, the number of training images, is needed by ``sampling="mss"`` only."""

    def __init__(self, alpha: float = 1.0, beta: float = 6.0, gamma: float = 1.0, dataset_size: int = 0,
                 sampling: str = "mws"):
        super().__init__()
        tc_weights(alpha, beta, gamma)
        one_of("sampling", sampling, SAMPLINGS)
        stratified_sampling(sampling, count("dataset_size", dataset_size))
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        self.dataset_size, self.sampling = int(dataset_size), sampling

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        terms = tc_terms(out.z, out.q.mu, out.q.logvar, model.prior.log_prob(out.z),
                         self.dataset_size, self.sampling)
        mi, tc, dim_kl = (terms[k].mean() for k in ("mi", "tc", "dim_kl"))
        loss = rec + self.alpha * mi + self.beta * tc + self.gamma * dim_kl
        return loss, {"reconstruction": rec, "mi": mi, "tc": tc, "dim_kl": dim_kl}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], alpha: float, beta: float,
          gamma: float, dataset_size: int, sampling: str, likelihood: str) -> AutoEncoder:
    """``sampling``: how q(z) is estimated from the minibatch, 'mws' (minibatch-weighted) or 'mss'
    (minibatch-stratified, which needs ``dataset_size``, the number of training images)."""
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian",
                    objective=TCDecomposition(alpha, beta, gamma, dataset_size, sampling), likelihood=likelihood)
