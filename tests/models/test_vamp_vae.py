"""vamp-vae: the ELBO against a VampPrior, by hand; one N(0, I) pseudo-posterior is the standard VAE; the
Evaluator scores the model against its own prior."""
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import loss_before_and_after_steps
from torch.distributions import Normal

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator

SHAPE = (1, 8, 8)


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("vamp-vae", input_shape=SHAPE, latent_dim=3, **hyper)


def _batch(n=6):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _log_vamp(model, z):
    """log p(z) = log (1/K) sum_k N(z; mu_k, sigma_k) at the encoded pseudo-inputs, by hand."""
    mu_k, logvar_k = model.encoder(torch.clamp(model.prior.pseudo_inputs, 0, 1))
    per = Normal(mu_k, (0.5 * logvar_k).exp()).log_prob(z.unsqueeze(-2)).sum(-1)  # (..., N, K)
    return torch.logsumexp(per, -1) - math.log(len(mu_k))


def _bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum((-3, -2, -1))


def test_loss_is_the_elbo_against_the_vampprior_on_a_fixed_batch():
    model, x = _model(), _batch()
    assert model.prior.components == 50  # the default
    torch.manual_seed(4)
    loss, parts = model.loss(x)
    mu, logvar = model.encoder(x)
    torch.manual_seed(4)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    kl = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1) - _log_vamp(model, z)
    ref = _bce(model.decoder(z), x) + kl
    assert loss.item() == pytest.approx(ref.mean().item(), rel=1e-5)
    assert parts["kl"].item() == pytest.approx(kl.mean().item(), rel=1e-4)


class StubEncoder(torch.nn.Module):
    """The conv encoder, except that the VampPrior's pseudo-input is encoded as N(0, I)."""

    def __init__(self, inner, prior):
        super().__init__()
        self.inner, self.latent_dim = inner, inner.latent_dim
        self.__dict__["prior"] = prior

    def forward(self, x):
        if torch.equal(x, torch.clamp(self.prior.pseudo_inputs, 0, 1)):
            zeros = torch.zeros(len(x), self.latent_dim)
            return zeros, zeros
        return self.inner(x)


def test_one_standard_normal_pseudo_posterior_is_the_standard_vae():
    vamp = _model(components=1)
    vae = create_model("conv-vae", input_shape=SHAPE, latent_dim=3)
    missing, unexpected = vae.load_state_dict(vamp.state_dict(), strict=False)  # same encoder and decoder
    assert not missing and unexpected == ["prior.pseudo_inputs"]
    vamp.encoder = StubEncoder(vamp.encoder, vamp.prior)
    vae.prior.distribution = lambda: None  # the Monte-Carlo KL, as the VampPrior's, on the same draws
    vae.prior.kl = lambda q, z=None: None  # (no closed form either)
    x = _batch()
    torch.manual_seed(2)
    vamp_loss, vamp_parts = vamp.loss(x)
    torch.manual_seed(2)
    vae_loss, vae_parts = vae.loss(x)
    assert vamp_parts["reconstruction"].item() == pytest.approx(vae_parts["reconstruction"].item(), rel=1e-6)
    assert vamp_loss.item() == pytest.approx(vae_loss.item(), rel=1e-6)


def test_evaluator_scores_against_the_vampprior():
    model, x = _model(components=4), _batch(5)
    with torch.no_grad():
        model.prior.pseudo_inputs.uniform_(0, 1)
        model.encoder.mu.bias.fill_(1.5)  # posteriors away from N(0, I): the two priors disagree
    k = 8
    metrics = Evaluator(elbo_samples=k, iw_samples=k, seed=0).evaluate(model, x)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)  # the Evaluator's draws: ELBO first, then the IW bound
        mu, logvar = model.encoder(x)
        std = (0.5 * logvar).exp()
        z1 = mu + torch.randn((k, *mu.shape), generator=g) * std
        z2 = mu + torch.randn((k, *mu.shape), generator=g) * std
        log_q = lambda z: Normal(mu, std).log_prob(z).sum(-1)  # noqa: E731
        kl = (log_q(z1) - _log_vamp(model, z1)).mean(0)
        rec = _bce(model.decoder(z1.flatten(0, 1)).unflatten(0, (k, -1)), x).mean(0)
        log_w = -_bce(model.decoder(z2.flatten(0, 1)).unflatten(0, (k, -1)), x) + _log_vamp(model, z2) - log_q(z2)
        iw_nll = -(torch.logsumexp(log_w, 0) - math.log(k))
        kl_standard = (log_q(z1) - Normal(0.0, 1.0).log_prob(z1).sum(-1)).mean(0)
    assert metrics["kl"] == pytest.approx(kl.mean().item(), rel=1e-4)
    assert metrics["neg_elbo"] == pytest.approx((rec + kl).mean().item(), rel=1e-4)
    assert metrics["iw_nll"] == pytest.approx(iw_nll.mean().item(), rel=1e-4)
    assert abs(metrics["kl"] - kl_standard.mean().item()) > 0.5  # N(0, I) would have given another figure
    assert metrics["prior"] == "the VampPrior (4 pseudo-inputs)"


def test_capabilities_and_sampling():
    model = _model(components=7)
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound) == ("gaussian", "prior", True)
    assert "VampPrior" in caps.prior_title
    images = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert images.shape == (4, *SHAPE) and images.min() >= 0 and images.max() <= 1


def test_components_must_be_positive():
    with pytest.raises(ValueError, match="components must be a positive integer"):
        _model(components=0)


def test_a_few_steps_lower_the_loss_and_move_the_pseudo_inputs():
    model, x = _model(components=5), _batch()
    start = model.prior.pseudo_inputs.detach().clone()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
    assert not torch.equal(model.prior.pseudo_inputs, start)
