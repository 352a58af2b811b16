"""The code discriminator of the adversarial families (factor-vae, aae): an MLP from a code to one logit."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from aezoo.models.parts import check_positive


def code_discriminator(latent_dim: int, hidden: Sequence[int], slope: float = 0.2) -> nn.Sequential:
    """Linear layers of widths ``hidden`` with LeakyReLU(``slope``), then one logit per code: (N, D) -> (N,)."""
    widths = [check_positive("latent_dim", latent_dim), *(check_positive("discriminator width", h) for h in hidden)]
    layers: list[nn.Module] = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(slope)]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 1), nn.Flatten(0))


def check_weight(name: str, value: float) -> float:
    """``value`` as a float >= 0, or a ValueError naming the hyperparameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_lr(value: float) -> float:
    """A learning rate for the discriminator's optimiser: a positive finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"disc_lr must be a positive number, got {value!r}")
    return float(value)
