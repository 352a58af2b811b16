"""Assembles AutoEncoders from the built-in networks; shared by the built-in model modules."""
from __future__ import annotations

from typing import Sequence


def assemble(input_shape: tuple[int, int, int], net: str, sizes: Sequence[int], latent_dim: int, *,
             variational: bool, likelihood: str, beta: float = 1.0, corruption: tuple[str, float] | None = None):
    """An AutoEncoder with ``net`` ('mlp' or 'conv') encoder/decoder of the given widths."""
    from aezoo.core.autoencoder import AutoEncoder
    from aezoo.core.corruptions import make_corruption
    from aezoo.core.objectives import ELBO, Reconstruction
    from aezoo.nets.conv import ConvDecoder, ConvEncoder
    from aezoo.nets.mlp import MLPDecoder, MLPEncoder

    if int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    sizes = tuple(int(s) for s in sizes)
    if not sizes or min(sizes) < 1:
        raise ValueError(f"layer widths must be positive integers, got {sizes!r}")
    enc_cls, dec_cls = (ConvEncoder, ConvDecoder) if net == "conv" else (MLPEncoder, MLPDecoder)
    encoder = enc_cls(input_shape, sizes, int(latent_dim), variational=variational)
    decoder = dec_cls(input_shape, sizes, int(latent_dim))
    objective = ELBO(likelihood, beta) if variational else Reconstruction(likelihood)
    noise = make_corruption(*corruption) if corruption else None
    return AutoEncoder(encoder, decoder, objective, input_shape, corruption=noise)
