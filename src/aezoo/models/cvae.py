"""cvae: a conditional conv VAE (Sohn et al. 2015, in its label-conditioned form): the encoder q(z|x, y) sees the
image and its class label (one-hot, as constant input planes), the decoder p(x|z, y) the code and the label
(one-hot, appended to the code), the prior is N(0, I). Trained on the ELBO of p(x|y); ``zoo generate --label``
draws z from the prior and decodes it with the requested label, so the class comes from the decoder's input.

It needs labelled data (aezoo refuses unlabelled data in one line) and its likelihood numbers are conditional:
``zoo eval``'s -ELBO and IW-NLL bound -log p(x|y) of each image given its own label (``conditioned_on``), not
-log p(x), and do not compare with unconditional models'.
"""
from __future__ import annotations

from typing import Sequence

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import count, positive_int, widths
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import GaussianPosterior
from aezoo.nets.conditional import LabelInputDecoder, LabelPlanesEncoder
from aezoo.nets.conv import ConvDecoder, ConvEncoder


def build(input_shape: tuple[int, int, int], *, latent_dim: int, classes: int, channels: Sequence[int], beta: float,
          warmup: int, likelihood: str) -> AutoEncoder:
    """conv-vae's networks and ELBO, the encoder reading ``classes`` more input channels and the decoder a code
    ``classes`` wider."""
    latent_dim, classes = positive_int("latent_dim", latent_dim), count("classes", classes, least=1)
    channels = widths("channels", channels)
    c, h, w = input_shape
    encoder = LabelPlanesEncoder(ConvEncoder((c + classes, h, w), channels, latent_dim, gaussian=True), classes)
    decoder = LabelInputDecoder(ConvDecoder(input_shape, channels, latent_dim + classes), classes)
    return AutoEncoder(encoder, decoder, ELBO(beta=beta, warmup=warmup), input_shape,
                       posterior=GaussianPosterior(latent_dim), likelihood=likelihood)
