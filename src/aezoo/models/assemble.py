"""Assembles an AutoEncoder from aezoo's own networks: an MLP (``hidden`` widths) or a conv net (``channels``),
a posterior, an objective and optional parts; every built-in family's build calls it."""
from __future__ import annotations

from typing import Any, Sequence

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import positive_int, widths
from aezoo.core.corruptions import make_corruption
from aezoo.core.posteriors import GaussianPosterior, PointPosterior
from aezoo.nets.conv import ConvDecoder, ConvEncoder
from aezoo.nets.mlp import MLPDecoder, MLPEncoder


def assemble(input_shape: tuple[int, int, int], latent_dim: int, *, objective: Any,
             hidden: Sequence[int] | None = None, channels: Sequence[int] | None = None, posterior: Any = "point",
             likelihood: Any = "bernoulli", corruption: tuple[str, float] | None = None, **parts: Any) -> AutoEncoder:
    """An AutoEncoder whose encoder and decoder are MLPs of widths ``hidden`` or conv nets of ``channels`` (give
    one). ``posterior`` is 'gaussian', 'point' or a Posterior module; ``corruption`` a (kind, level) pair; other
    ``parts`` (prior, aux, aux_optimizers, sampler) pass to the AutoEncoder."""
    if (hidden is None) == (channels is None):
        raise ValueError("give the layer widths of an MLP (hidden) or of a conv net (channels), not both or neither")
    latent_dim = positive_int("latent_dim", latent_dim)
    if hidden is not None:
        sizes, (enc_cls, dec_cls) = widths("hidden", hidden), (MLPEncoder, MLPDecoder)
    else:
        sizes, (enc_cls, dec_cls) = widths("channels", channels), (ConvEncoder, ConvDecoder)
    if posterior == "gaussian":
        posterior = GaussianPosterior(latent_dim)
    elif posterior == "point":
        posterior = PointPosterior(latent_dim)
    encoder = enc_cls(input_shape, sizes, latent_dim, gaussian=posterior.kind == "gaussian")
    decoder = dec_cls(input_shape, sizes, latent_dim)
    noise = make_corruption(*corruption) if corruption else None
    return AutoEncoder(encoder, decoder, objective, input_shape, posterior=posterior, likelihood=likelihood,
                       corruption=noise, **parts)
