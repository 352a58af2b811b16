"""iwae: the K-sample importance-weighted bound against a plain-torch reference; K=1 is the ELBO."""
import math

import pytest
import torch
from helpers import loss_before_and_after_steps
from torch.distributions import Normal

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.objectives import ELBO
from aezoo.models.iwae import IWBound

SHAPE = (1, 8, 8)


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("iwae", input_shape=SHAPE, latent_dim=3, **hyper)


def _batch():
    return torch.rand(6, *SHAPE, generator=torch.Generator().manual_seed(1))


def _reference_bound(model, x, k, seed):
    """log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) per image, written out with torch.distributions."""
    mu, logvar = model.encoder(x)
    std = (0.5 * logvar).exp()
    torch.manual_seed(seed)
    z = mu + torch.randn(k, *mu.shape) * std
    logits = model.decoder(z.reshape(-1, mu.shape[1])).reshape(k, *x.shape)
    log_px = -torch.nn.functional.binary_cross_entropy_with_logits(
        logits, x.expand_as(logits), reduction="none").sum((2, 3, 4))
    log_pz = Normal(0.0, 1.0).log_prob(z).sum(-1)
    log_qz = Normal(mu, std).log_prob(z).sum(-1)
    return torch.logsumexp(log_px + log_pz - log_qz, 0) - math.log(k)


def test_loss_is_minus_the_k_sample_bound_on_a_fixed_batch():
    model, x = _model(), _batch()
    assert model.objective.k == 5  # the default
    torch.manual_seed(7)
    loss, parts = model.loss(x)
    ref = _reference_bound(model, x, 5, seed=7)
    assert loss.item() == pytest.approx(-ref.mean().item(), rel=1e-5)
    assert set(model.objective.diagnostics) == {"reconstruction", "kl"}


def test_one_sample_is_the_elbo_with_a_monte_carlo_kl_on_the_same_draws():
    model, x = _model(k=1), _batch()
    torch.manual_seed(3)
    iw_loss, _ = model.loss(x)
    model.objective = ELBO()  # same networks, the VAE's loss
    model.prior.distribution = lambda: None  # force the Monte-Carlo KL log q(z|x) - log p(z) on the drawn z
    torch.manual_seed(3)
    elbo_loss, _ = model.loss(x)
    assert iw_loss.item() == pytest.approx(elbo_loss.item(), rel=1e-6)


def test_more_samples_give_a_tighter_bound():
    model, x = _model(), _batch()
    with torch.no_grad():
        model.encoder.logvar.bias.fill_(2.0)  # a wide q(z|x): the ELBO is far below log p(x)
        losses = {}
        for k in (1, 50):
            model.objective = IWBound(k)
            torch.manual_seed(0)
            losses[k] = torch.stack([model.loss(x)[0] for _ in range(20)]).mean()
    assert losses[50] < losses[1] - 3  # measured: 44.6 vs 51.3 nats


def test_capabilities_and_evaluation():
    model, x = _model(), _batch()
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound) == ("gaussian", "prior", True)
    metrics = Evaluator(iw_samples=20).evaluate(model, x)
    assert "not_applicable" not in metrics
    assert metrics["iw_nll"] <= metrics["neg_elbo"] + 0.5 and metrics["kl"] > 0


def test_k_must_be_positive():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        _model(k=0)


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
