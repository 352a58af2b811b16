"""Fitting a small network to a model's codes, as the ex-post samplers (core/maf.py, core/two_stage.py) do:
the codes standardised per dimension, then seeded Adam steps on random batches of them."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch


def standardised(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(codes, loc, scale): ``codes`` (N, D) as float32 on the CPU, their per-dimension mean and standard deviation
    (at least 1e-3, so a constant dimension stays a point); ValueError for anything but at least 2 codes."""
    codes = codes.detach().float().cpu()
    if codes.dim() != 2 or len(codes) < 2:
        raise ValueError(f"codes must be an (N, latent_dim) tensor of at least 2 codes, got {tuple(codes.shape)}")
    return codes, codes.mean(0), codes.std(0).clamp(min=1e-3)


def fit(parameters: Iterable[torch.nn.Parameter], z: torch.Tensor,
        loss: Callable[[torch.Tensor, int, torch.Generator], torch.Tensor],
        seed: int, steps: int, batch_size: int, lr: float) -> list[float]:
    """``steps`` Adam steps on ``loss(batch, step, generator)`` over batches of ``batch_size`` rows of ``z`` drawn
    with a generator seeded by ``seed`` (which ``loss`` may draw its own noise from); the loss of every step."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(parameters, lr=lr)
    losses = []
    with torch.enable_grad():
        for step in range(steps):
            batch = z[torch.randint(len(z), (min(batch_size, len(z)),), generator=generator)]
            value = loss(batch, step, generator)
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            losses.append(value.item())
    return losses
