"""vae-gan (Larsen et al. 2016): reconstruction on a discriminator layer's features; encoder on prior +
feature-matching, decoder on feature-matching - gamma x GAN, discriminator on GAN, each checked with autograd;
losses against a plain-torch reference; with pixels as features and gamma 0 it is a unit-variance Gaussian VAE."""
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import assert_trainer_updates_every_optimizer, digits_splits, grads_after

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.likelihoods import Gaussian
from aezoo.core.objectives import ELBO
from aezoo.models.vae_gan import NO_PIXEL_LIKELIHOOD

SHAPE = (1, 8, 8)
SMALL = dict(latent_dim=3, channels=(8, 16), disc_channels=(8, 16))



@pytest.fixture(scope="module")
def splits():
    return digits_splits()


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("vae-gan", input_shape=SHAPE, **{**SMALL, **hyper})


def _batch(splits, n=32):
    return splits.train.floats()[:n]


def _discriminator(disc, x, layer):
    """(probability D(x), features of conv layer ``layer``) with the discriminator's weights applied by hand, batch
    normalised (after every conv but the first) with the statistics of the images ``x`` given together."""
    h, features = x, x.flatten(1)
    for i, block in enumerate(disc.layers, 1):
        conv = block[0]
        h = F.conv2d(h, conv.weight, conv.bias, stride=2, padding=1)
        if i > 1:
            norm = block[1]
            mean, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
            h = (h - mean) / torch.sqrt(var + norm.eps) * norm.weight[:, None, None] + norm.bias[:, None, None]
        h = F.leaky_relu(h, 0.2)
        if i == layer:
            features = h.flatten(1)
    return torch.sigmoid(h.flatten(1) @ disc.head.weight.T + disc.head.bias).squeeze(1), features


def test_losses_match_an_independent_computation_on_a_fixed_batch(splits):
    model, x = _model(gamma=0.7, feature_layer=2), _batch(splits)
    torch.manual_seed(3)
    loss, parts = model.loss(x)
    with torch.no_grad():
        mu, logvar = model.encoder(x)
        torch.manual_seed(3)
        z = mu + torch.randn(mu.shape) * torch.exp(0.5 * logvar)
        prior = torch.randn(32, 3)  # drawn after the code: as many prior draws as images
        recon, generated = torch.sigmoid(model.decoder(z)), torch.sigmoid(model.decoder(prior))
        disc = model.aux["discriminator"]
        _, f = _discriminator(disc, torch.cat([x, recon]), 2)  # real and reconstructed images, normalised together
        f_real, f_recon = f[:32], f[32:]
        d, _ = _discriminator(disc, torch.cat([x, recon, generated]), 2)  # real images and both kinds of fakes
        d_real, d_recon, d_generated = d[:32], d[32:64], d[64:]
        kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).sum(1).mean()
        feature = (0.5 * (f_real - f_recon) ** 2).sum(1).mean()
        adversarial = (torch.log(1 - d_recon) + torch.log(1 - d_generated)).mean()  # the fakes' part of -L_GAN
        gan = -(torch.log(d_real) + torch.log(1 - d_recon) + torch.log(1 - d_generated)).mean()
    assert parts["kl"].item() == pytest.approx(kl.item(), rel=1e-5)
    assert parts["feature_reconstruction"].item() == pytest.approx(feature.item(), rel=1e-5)
    assert parts["adversarial"].item() == pytest.approx(adversarial.item(), rel=1e-5)
    assert parts["discriminator"].item() == pytest.approx(gan.item(), rel=1e-5)
    assert loss.item() == pytest.approx((kl + feature + 0.7 * adversarial).item(), rel=1e-5)


def test_each_loss_trains_only_the_networks_the_paper_names(splits):
    model, x = _model(), _batch(splits)
    torch.manual_seed(0)
    loss, parts = model.loss(x)
    nets = [model.aux["discriminator"], model.encoder, model.decoder]
    assert grads_after(parts["discriminator"], nets) == [True, False, False]  # GAN: the discriminator only
    assert grads_after(loss, nets) == [False, True, True]
    assert grads_after(parts["kl"], nets) == [False, True, False]  # prior: the encoder only
    assert grads_after(parts["feature_reconstruction"], nets) == [False, True, True]
    assert grads_after(parts["adversarial"], nets) == [False, False, True]  # GAN: never the encoder


def test_the_encoder_and_the_decoder_each_get_the_gradient_of_their_own_loss(splits):
    model, x = _model(gamma=2.0), _batch(splits)
    torch.manual_seed(0)
    loss, parts = model.loss(x)
    enc, dec = list(model.encoder.parameters()), list(model.decoder.parameters())
    for params, own in ((enc, parts["kl"] + parts["feature_reconstruction"]),
                        (dec, parts["feature_reconstruction"] + 2.0 * parts["adversarial"])):
        got = torch.autograd.grad(loss, params, retain_graph=True)
        want = torch.autograd.grad(own, params, retain_graph=True, allow_unused=True)
        for g, w in zip(got, want):
            assert torch.allclose(g, torch.zeros_like(g) if w is None else w, rtol=1e-5, atol=1e-7)


def test_an_undecided_discriminator_gives_the_gan_losses_their_log_2_values(splits):
    model, x = _model(), _batch(splits)
    with torch.no_grad():
        model.aux["discriminator"].head.weight.zero_()
        model.aux["discriminator"].head.bias.zero_()  # D = 1/2 for every image
    _, parts = model.loss(x)
    assert parts["discriminator"].item() == pytest.approx(3 * math.log(2), rel=1e-6)  # real, recon, prior draw
    assert parts["adversarial"].item() == pytest.approx(-2 * math.log(2), rel=1e-6)


def test_pixels_as_features_and_no_gan_is_a_unit_variance_gaussian_vae(splits):
    model, x = _model(gamma=0.0, feature_layer=0), _batch(splits)
    torch.manual_seed(3)
    vae_gan, _ = model.loss(x)
    model.objective, model.likelihood = ELBO(), Gaussian(SHAPE, sigma=1.0)
    torch.manual_seed(3)
    gaussian_vae, _ = model.loss(x)
    assert vae_gan.item() == pytest.approx(gaussian_vae.item() - 64 * 0.5 * math.log(2 * math.pi), rel=1e-5)


def test_a_trainer_epoch_steps_the_model_and_the_discriminator_each_with_its_optimiser(splits):
    trainer = assert_trainer_updates_every_optimizer("vae-gan", splits, **SMALL)
    assert trainer.optimizers["discriminator"].param_groups[0]["lr"] == pytest.approx(1e-4)


def test_evaluation_reports_kl_and_features_and_no_pixel_likelihood(splits):
    model = _model()
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.aux, caps.likelihood_bound) == ("gaussian", "prior",
                                                                               ("discriminator",), False)
    metrics = Evaluator(iw_samples=5).evaluate(model, splits.test.images[:40])
    assert metrics["not_applicable"] == {k: NO_PIXEL_LIKELIHOOD for k in ("rec_nll", "neg_elbo", "iw_nll")}
    assert not {"rec_nll", "neg_elbo", "iw_nll"} & set(metrics)
    assert metrics["kl"] > 0 and metrics["feature_reconstruction"] > 0 and math.isfinite(metrics["mse"])


def test_defaults_and_a_layer_the_discriminator_lacks():
    model = create_model("vae-gan", input_shape=SHAPE)
    assert model.objective.gamma == 1.0 and model.aux["discriminator"].feature_layer == 2
    with pytest.raises(ValueError, match=r"feature_layer must be between 0 \(the pixels\) and 2"):
        create_model("vae-gan", input_shape=SHAPE, feature_layer=3)
