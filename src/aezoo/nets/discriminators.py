"""The code discriminator of the adversarial families (factor-vae, aae): an MLP from a code to one logit."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from aezoo.core.checks import positive_int, widths


def code_discriminator(latent_dim: int, hidden: Sequence[int], slope: float = 0.2) -> nn.Sequential:
    """Linear layers of widths ``hidden`` (``disc_hidden``; none: a linear classifier) with LeakyReLU(``slope``),
    then one logit per code: (N, D) -> (N,)."""
    sizes = [positive_int("latent_dim", latent_dim), *widths("disc_hidden", hidden, empty=True)]
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(slope)]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], 1), nn.Flatten(0))
