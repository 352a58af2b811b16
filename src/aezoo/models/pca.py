"""pca: principal component analysis as an encoder/decoder pair, fitted in closed form (scikit-learn's PCA on all
training images, once: no epochs, no gradient steps; `zoo train pca` says so).

The encoder projects the centred pixels onto the ``latent_dim`` leading principal directions; the decoder maps a code
back to mean + code @ directions, clipped to the pixel range, and returns that image's logits, so the likelihood's
mean is exactly PCA's reconstruction. Validation and `zoo eval` score it with the likelihood's reconstruction term,
``gaussian`` by default: the squared error PCA minimises. Its code is a deterministic point, so, like a plain
autoencoder's, it has no ELBO and samples come from a Gaussian fitted to the training codes."""
from __future__ import annotations

import math

import torch
from torch import nn

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import likelihood as likelihood_name
from aezoo.core.checks import positive_int
from aezoo.core.interfaces import Decoder, Encoder
from aezoo.core.objectives import Reconstruction
from aezoo.core.posteriors import PointPosterior

EPS = 1e-6  # decoded pixels are kept in [EPS, 1 - EPS] so that their logits are finite


class Basis(nn.Module):
    """The pixel mean (D,) and the principal directions (latent_dim, D), orthonormal rows once fitted."""

    def __init__(self, pixels: int, latent_dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(pixels))
        self.register_buffer("directions", torch.zeros(latent_dim, pixels))

    def set(self, mean: torch.Tensor, directions: torch.Tensor) -> None:
        self.mean.copy_(mean)
        self.directions.copy_(directions)


class PCAEncoder(Encoder):
    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.basis = Basis(math.prod(input_shape), latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) - self.basis.mean) @ self.basis.directions.T


class PCADecoder(Decoder):
    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.basis = Basis(math.prod(input_shape), latent_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        images = (self.basis.mean + z @ self.basis.directions).clamp(EPS, 1 - EPS)
        return torch.logit(images).unflatten(1, self.input_shape)


class ClosedFormPCA(Reconstruction):
    """The reconstruction term, minimised in closed form: ``fit_closed_form`` sets the basis from the training
    images (the Trainer calls it instead of taking gradient steps)."""

    def fit_closed_form(self, model: AutoEncoder, images: torch.Tensor) -> None:
        from sklearn.decomposition import PCA

        x = images.flatten(1).double().cpu().numpy()
        if model.latent_dim > min(x.shape):
            raise ValueError(f"pca with latent_dim {model.latent_dim} needs at least that many training images and "
                             f"pixels; this data has {x.shape[0]} images of {x.shape[1]} pixels")
        # scikit-learn picks the solver: exact (covariance eigenvectors or full SVD) for images up to 1000 pixels,
        # a seeded randomized SVD for wider ones
        pca = PCA(n_components=model.latent_dim, random_state=0).fit(x)
        mean, directions = (torch.from_numpy(a).float() for a in (pca.mean_, pca.components_))
        for basis in (model.encoder.basis, model.decoder.basis):
            basis.set(mean, directions)


def build(input_shape: tuple[int, int, int], *, latent_dim: int, likelihood: str) -> AutoEncoder:
    """PCA with ``latent_dim`` components as an AutoEncoder (unfitted: zero directions until trained)."""
    latent_dim = positive_int("latent_dim", latent_dim)
    pixels = math.prod(input_shape)
    if latent_dim > pixels:
        raise ValueError(f"latent_dim {latent_dim} is more than the {pixels} values of a {tuple(input_shape)} image; "
                         f"PCA has at most that many components")
    return AutoEncoder(PCAEncoder(input_shape, latent_dim), PCADecoder(input_shape, latent_dim), ClosedFormPCA(),
                       input_shape, posterior=PointPosterior(latent_dim),
                       likelihood=likelihood_name("likelihood", likelihood))
