"""fsq-vae: a conv autoencoder with finite scalar quantisation (Mentzer et al. 2023, "Finite scalar quantization:
VQ-VAE made simple"): the code's ``latent_dim`` numbers form positions of ``len(levels)`` numbers, each bounded
and rounded to ``levels[i]`` values (straight-through), an implicit codebook of ``prod(levels)`` codes per
position with no codebook or commitment loss: the loss is the reconstruction alone.

There is no density: the code is deterministic and no prior is trained, so ``zoo eval`` reports reconstruction,
code perplexity and the fixed code size (``code_bits`` = positions x log2 prod(levels), the compression ratio)
and gives the reason for leaving out KL, -ELBO and IW-NLL. Generation draws each position's code from its
frequencies in the training codes (``--sampler categorical``, the default; a position has about as many grid codes
as digits has training images, so only codes seen there are drawn); ``--sampler prior`` draws uniformly from the
grid, which training never shaped, to show what that gives.
"""
from __future__ import annotations

from typing import Sequence

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.objectives import Reconstruction
from aezoo.core.posteriors import FiniteScalarQuantiser
from aezoo.core.priors import Categorical
from aezoo.models.assemble import assemble


def build(input_shape: tuple[int, int, int], *, latent_dim: int, levels: Sequence[int], channels: Sequence[int],
          likelihood: str) -> AutoEncoder:
    quantiser = FiniteScalarQuantiser(latent_dim, levels, normalise=True)  # the tanh stays responsive on 28x28
    prior = Categorical(latent_dim, quantiser.positions, quantiser.codebook_size)  # uniform over the grid
    return assemble(input_shape, latent_dim, channels=channels, posterior=quantiser, prior=prior,
                    objective=Reconstruction(), likelihood=likelihood, sampler="categorical")
