"""vae-gan: the VAE/GAN of Larsen et al. 2016 ("Autoencoding beyond pixels using a learned similarity metric"),
a conv VAE whose reconstruction error is measured on the features of a discriminator's layer l instead of on
pixels, with the discriminator telling real images from reconstructions and from decoded prior draws.

    L_prior   = KL(q(z|x) || N(0, I))
    L_feature = 1/2 ||Dis_l(x) - Dis_l(x_rec)||^2         (-log N(Dis_l(x); Dis_l(x_rec), I) less its constant)
    L_GAN     = -log D(x) - log(1 - D(x_rec)) - log(1 - D(x_prior))   (the discriminator's cross-entropy)

Each loss trains only the networks the paper names: the encoder minimises L_prior + L_feature; the decoder
L_feature - gamma (the fakes' part of L_GAN), i.e. it tries to make the discriminator take its images for real
(the paper's saturating form); the discriminator minimises L_GAN with its own Adam optimiser. aezoo steps the
encoder and decoder with one optimiser on one backward pass, so the routing is in the loss: the discriminator is
frozen in the model's terms (``frozen``), the decoder's GAN term decodes the codes detached from the encoder, and
the discriminator's loss sees detached images. The paper's equilibrium trick (skipping updates while one side
wins by a margin) is left out: every step updates every network. The validation loss is measured on the features
of a discriminator that keeps training, so no epoch's loss compares with another's: training keeps the last
epoch's weights (not the best validation epoch's) and ``--patience`` never stops it.

``feature_layer`` 0 compares pixels, so with gamma = 0 the model is the VAE with a unit-variance Gaussian
likelihood on the decoded mean image. There is no pixel likelihood: the decoder is trained on features the
discriminator keeps changing, so ``zoo eval`` reports the KL, the feature reconstruction and the pixel errors,
and -ELBO and IW-NLL as not applicable."""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import positive, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import frozen, kl_to_prior
from aezoo.models.assemble import assemble
from aezoo.nets.discriminators import ImageDiscriminator

NO_PIXEL_LIKELIHOOD = ("the decoder is trained on a discriminator's features and a GAN loss, not on a likelihood of "
                       "the pixels: a pixel -log p(x|z), -ELBO or IW-NLL would score a likelihood it never fitted")


def feature_distance(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """1/2 ||real - fake||^2 per image, over the flattened features."""
    return 0.5 * (real - fake).pow(2).sum(1)


def fake_log_probs(logits: torch.Tensor, n: int) -> torch.Tensor:
    """Per image, sum over its fakes (``logits`` holds n of each kind, one kind after another) of log(1 - D(fake))."""
    return -F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits), reduction="none").view(-1, n).sum(0)


class VAEGANLoss(Objective):
    """Model: L_prior + L_feature + ``gamma`` x (log(1 - D(x_rec)) + log(1 - D(x_prior))), the last term (part
    ``adversarial``) reaching the decoder only; part ``discriminator``: L_GAN, reaching the discriminator only."""

    aux_losses = ("discriminator",)
    likelihood_unused = NO_PIXEL_LIKELIHOOD
    comparable_loss = False  # measured on features of a discriminator that trains too: training keeps the last epoch

    def __init__(self, gamma: float = 1.0):
        super().__init__()
        self.gamma = weight("gamma", gamma)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        q = model.infer(batch.inputs)
        z = q.sample()
        n = len(z)
        prior_z = model.prior.sample(n).to(z.dtype)
        images = model.likelihood.mean(model.decoder(torch.cat([z, z.detach(), prior_z])))
        recon, recon_for_gan, generated = images.split(n)  # the same reconstructions twice: with and without z's graph
        discriminator = model.aux["discriminator"]
        # three discriminator passes, each batch normalised over its own images, so that no statistic couples a term
        # to a network it must not train: real and reconstructed (features), real and fakes (model, then itself)
        _, features = frozen(discriminator, torch.cat([batch.x, recon]))
        real_features, recon_features = features.split(n)
        fake_logits = frozen(discriminator, torch.cat([batch.x, recon_for_gan, generated]))[0][n:]
        logits, _ = discriminator(torch.cat([batch.x, recon.detach(), generated.detach()]))
        kl = kl_to_prior(q, model.prior, z).mean()
        feature = feature_distance(real_features.detach(), recon_features).mean()
        adversarial = fake_log_probs(fake_logits, n).mean()
        real_logits, judged_logits = logits[:n], logits[n:]
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  - fake_log_probs(judged_logits, n).mean())
        loss = kl + feature + self.gamma * adversarial
        return loss, {"kl": kl, "feature_reconstruction": feature, "adversarial": adversarial,
                      "discriminator": d_loss}

    def eval_metrics(self, model: AutoEncoder, x: torch.Tensor, q: Any) -> dict[str, torch.Tensor]:
        """``feature_reconstruction``: L_feature of each image and its reconstruction from the posterior mean."""
        _, features = model.aux["discriminator"](torch.cat([x, model.decode(q.mean)]))
        real, recon = features.split(len(x))
        return {"feature_reconstruction": feature_distance(real, recon).mean()}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], gamma: float,
          feature_layer: int, disc_channels: Sequence[int], disc_lr: float) -> AutoEncoder:
    discriminator = ImageDiscriminator(input_shape, disc_channels, feature_layer)
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian", objective=VAEGANLoss(gamma),
                    aux={"discriminator": discriminator},
                    aux_optimizers={"discriminator": {"optimizer": "adam", "lr": positive("disc_lr", disc_lr)}})
