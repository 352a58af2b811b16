"""Identities the losses and metrics must satisfy on a fixed batch, where "the loss falls" cannot tell."""
from __future__ import annotations

import math

import pytest
import torch
from test_evaluator import stub_vae
from torch import nn

import aezoo
from aezoo.core.evaluator import Evaluator, evaluate
from aezoo.core.sampling import encode_all

SHAPE = (1, 8, 8)


def test_the_kl_term_is_the_mean_over_the_batch_of_each_images_kl():
    torch.manual_seed(0)
    model = aezoo.create_model("conv-vae", input_shape=SHAPE, latent_dim=3)
    x = torch.rand(10, *SHAPE)
    loss, parts = model.loss(x)
    mu, logvar = model.encoder(x)  # the Gaussian posterior's parameters
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    per_image = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    assert parts["kl"].item() == pytest.approx(per_image.mean().item(), rel=1e-5)
    assert loss.item() == pytest.approx((parts["reconstruction"] + parts["kl"]).item(), rel=1e-6)


def test_restoring_models_are_scored_against_the_clean_images():
    """With every pixel dropped the input is blank whatever the image; the loss still compares with the image."""
    torch.manual_seed(0)
    model = aezoo.create_model("inpainting-ae", input_shape=SHAPE, latent_dim=2, mask="pixels", mask_level=1.0,
                               likelihood="gaussian")
    x = torch.full((4, *SHAPE), 0.5)
    model.train()
    loss, _ = model.loss(x)
    with torch.no_grad():
        decoded = torch.sigmoid(model(torch.zeros_like(x)).logits)  # what the blank input decodes to
    # the default Gaussian likelihood (sigma = 1/sqrt(2)): squared error plus 0.5 log(pi) per pixel
    against_clean = (decoded - x).pow(2).flatten(1).sum(1).mean() + x[0].numel() * 0.5 * math.log(math.pi)
    assert loss.item() == pytest.approx(against_clean.item(), rel=1e-5)


def test_importance_weights_use_the_posterior_variance():
    """A decoder that ignores z makes log p(x) = log p(x|z) exactly; with a posterior wider than the prior
    (variance e^0.5) the IW estimate only gets there when q(z|x)'s own variance is used in the weights."""
    x = torch.full((100, *SHAPE), 0.5)
    model = stub_vae(p=0.6, mu=(1.0, -1.0), logvar=(0.5, 0.5))
    result = Evaluator(iw_samples=200, iw_chunk=20_000).evaluate(model, x)
    assert result["iw_nll"] == pytest.approx(result["bce"], abs=0.05)
    one = Evaluator(iw_samples=1).evaluate(model, torch.full((2000, *SHAPE), 0.5))
    assert one["iw_nll"] == pytest.approx(one["neg_elbo"], abs=0.15)  # K=1: the ELBO, in expectation


class Dropped(nn.Module):
    """Dropout in front of a decoder, as a plugin's network may have."""

    def __init__(self, decoder: nn.Module):
        super().__init__()
        self.dropout, self.decoder = nn.Dropout(0.5), decoder

    def forward(self, z):
        return self.decoder(self.dropout(z))


def test_evaluation_and_generation_run_the_model_in_eval_mode():
    torch.manual_seed(0)
    model = aezoo.create_model("mlp-ae", input_shape=SHAPE, latent_dim=4)
    model.decoder = Dropped(model.decoder)
    x = torch.rand(32, *SHAPE)
    model.train()
    results = []
    for seed in (0, 1):
        torch.manual_seed(seed)  # dropout would draw different masks
        results.append((evaluate(model, x), encode_all(model, x)))
    assert model.training  # the caller's mode is given back
    model.eval()
    reference = evaluate(model, x)
    assert results[0][0] == results[1][0] == reference
    assert torch.equal(results[0][1], results[1][1])


def test_training_draws_codes_from_the_posterior():
    """The codes a VAE decodes while training are draws from q(z|x): mean mu, standard deviation exp(logvar / 2)."""
    torch.manual_seed(0)
    model = aezoo.create_model("conv-vae", input_shape=SHAPE, latent_dim=3)
    with torch.no_grad():
        out = model(torch.rand(1, *SHAPE).expand(20_000, *SHAPE))
    std = (0.5 * out.logvar[0]).exp()
    assert torch.allclose((out.z - out.mu).mean(0), torch.zeros(3), atol=0.03 * std.max().item())
    assert torch.allclose((out.z - out.mu).std(0), std, rtol=0.03)
