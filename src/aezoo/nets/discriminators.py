"""The discriminators of the adversarial families: on codes (factor-vae, aae), an MLP from a code to one logit; on
images (vae-gan), a conv net giving one logit and the features of one of its layers."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from aezoo.core.checks import count, discriminator_layer, positive_int, widths
from aezoo.nets.conv import halved, check_size


def code_discriminator(latent_dim: int, hidden: Sequence[int], slope: float = 0.2) -> nn.Sequential:
    """Linear layers of widths ``hidden`` (``disc_hidden``; none: a linear classifier) with LeakyReLU(``slope``),
    then one logit per code: (N, D) -> (N,)."""
    sizes = [positive_int("latent_dim", latent_dim), *widths("disc_hidden", hidden, empty=True)]
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(slope)]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], 1), nn.Flatten(0))


class ImageDiscriminator(nn.Module):
    """Stride-2 4x4 conv layers of widths ``channels`` (``disc_channels``), each but the first followed by batch
    normalisation (as in Larsen et al. 2016 and DCGAN), each with LeakyReLU(``slope``), then one logit per image.
    ``forward(x)`` returns ``(logits (N,), features (N, F))``, the features being the activations of conv layer
    ``feature_layer`` (1 to len(channels)) flattened, or the pixels for ``feature_layer=0``. Batch normalisation
    puts the features on a unit scale, which a Gaussian likelihood on them (VAE/GAN) needs to carry information."""

    def __init__(self, input_shape: tuple[int, int, int], channels: Sequence[int], feature_layer: int,
                 slope: float = 0.2):
        super().__init__()
        channels = widths("disc_channels", channels)
        check_size(input_shape, channels)
        self.feature_layer = count("feature_layer", feature_layer)
        discriminator_layer(self.feature_layer, channels)
        sizes = [input_shape[0], *channels]
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 4, 2, 1), *([nn.BatchNorm2d(b)] if i else []), nn.LeakyReLU(slope))
            for i, (a, b) in enumerate(zip(sizes, sizes[1:])))
        h, w = (halved(side, len(channels)) for side in input_shape[1:])
        self.head = nn.Linear(channels[-1] * h * w, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, features = x, x.flatten(1)
        for i, layer in enumerate(self.layers, 1):
            h = layer(h)
            if i == self.feature_layer:
                features = h.flatten(1)
        return self.head(h.flatten(1)).squeeze(-1), features
