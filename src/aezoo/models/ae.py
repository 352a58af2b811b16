"""The plain autoencoders, trained on the reconstruction loss -log p(x|z) alone: mlp-ae (fully connected,
``hidden``), linear-ae (one linear map each way, ``build_linear``), conv-ae (``channels``), and the restoring ones
trained on corrupted inputs against clean targets:
denoising-ae (``noise``: 'gaussian', level = std; 'salt-pepper', level = fraction of pixels) and inpainting-ae
(``mask``: 'pixels', level = drop probability; 'block', level = block side / image side)."""
from __future__ import annotations

from typing import Sequence

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import MASKS, NOISES, corruption_level, likelihood as likelihood_name, one_of, positive_int
from aezoo.core.objectives import Reconstruction
from aezoo.core.posteriors import PointPosterior
from aezoo.models.assemble import assemble
from aezoo.nets.mlp import MLPDecoder, MLPEncoder


def build(input_shape: tuple[int, int, int], *, latent_dim: int, likelihood: str,
          hidden: Sequence[int] | None = None, channels: Sequence[int] | None = None,
          noise: str | None = None, noise_level: float = 0.0, mask: str | None = None,
          mask_level: float = 0.0) -> AutoEncoder:
    """An MLP (``hidden``) or conv (``channels``) autoencoder; ``noise`` or ``mask`` corrupts its training inputs."""
    corruption = None
    if noise is not None:
        corruption = one_of("noise", noise, NOISES), corruption_level("noise_level", noise, noise_level)
    elif mask is not None:
        corruption = one_of("mask", mask, MASKS), corruption_level("mask_level", mask, mask_level)
    return assemble(input_shape, latent_dim, hidden=hidden, channels=channels, objective=Reconstruction(),
                    likelihood=likelihood, corruption=corruption)


def build_linear(input_shape: tuple[int, int, int], *, latent_dim: int, likelihood: str) -> AutoEncoder:
    """A linear autoencoder: one linear map to the code and one back, no hidden layer and no activation (the output
    still goes through the likelihood's sigmoid). The pair PCA computes in closed form, learned by gradient descent.
    Its own model rather than ``--set hidden=`` on mlp-ae: ``hidden`` means a deep network's widths everywhere."""
    latent_dim = positive_int("latent_dim", latent_dim)
    return AutoEncoder(MLPEncoder(input_shape, (), latent_dim), MLPDecoder(input_shape, (), latent_dim),
                       Reconstruction(), input_shape, posterior=PointPosterior(latent_dim),
                       likelihood=likelihood_name("likelihood", likelihood))
