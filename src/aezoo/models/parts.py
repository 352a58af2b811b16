"""Assembles AutoEncoders from the built-in networks; shared by the built-in model modules."""
from __future__ import annotations

from typing import Any, Sequence


def check_positive(name: str, value: Any) -> int:
    """``value`` as a positive int, or a ValueError naming the hyperparameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def assemble(input_shape: tuple[int, int, int], net: str, sizes: Sequence[int], latent_dim: int, *,
             objective: Any, posterior: Any = "point", likelihood: Any = "bernoulli",
             corruption: tuple[str, float] | None = None, encoder_dim: int | None = None, **parts: Any):
    """An AutoEncoder with ``net`` ('mlp' or 'conv') encoder/decoder of the given widths. ``posterior`` is
    'gaussian', 'point' or a Posterior module; ``encoder_dim`` is the encoder's output width when it differs from
    ``latent_dim``; other ``parts`` (prior, aux, aux_optimizers, sampler) pass to the AutoEncoder."""
    from aezoo.core.autoencoder import AutoEncoder
    from aezoo.core.corruptions import make_corruption
    from aezoo.core.posteriors import GaussianPosterior, PointPosterior
    from aezoo.nets.conv import ConvDecoder, ConvEncoder
    from aezoo.nets.mlp import MLPDecoder, MLPEncoder

    latent_dim = check_positive("latent_dim", latent_dim)
    sizes = tuple(check_positive("layer width", s) for s in sizes)
    if not sizes:
        raise ValueError("give at least one layer width")
    if posterior == "gaussian":
        posterior = GaussianPosterior(latent_dim)
    elif posterior == "point":
        posterior = PointPosterior(latent_dim)
    enc_cls, dec_cls = (ConvEncoder, ConvDecoder) if net == "conv" else (MLPEncoder, MLPDecoder)
    encoder = enc_cls(input_shape, sizes, encoder_dim or latent_dim, variational=posterior.kind == "gaussian")
    decoder = dec_cls(input_shape, sizes, latent_dim)
    noise = make_corruption(*corruption) if corruption else None
    return AutoEncoder(encoder, decoder, objective, input_shape, posterior=posterior, likelihood=likelihood,
                       corruption=noise, **parts)
