"""ciwae (Rainforth et al. 2018): minus beta x ELBO_K + (1 - beta) x IWAE_K on the same K draws, against a plain-
torch reference; beta=1 is the K-sample ELBO, beta=0 the IWAE bound."""
import math

import pytest
import torch
from helpers import loss_before_and_after_steps, plain_log_weights

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.models.iwae import IWBound

SHAPE = (1, 8, 8)



def _model(**hyper):
    torch.manual_seed(0)
    model = create_model("ciwae", input_shape=SHAPE, latent_dim=3, channels=(8, 16), **hyper)
    with torch.no_grad():
        model.encoder.logvar.bias.fill_(1.0)  # a wide q(z|x): the ELBO and the IWAE bound differ by nats
    return model


def _batch():
    return torch.rand(6, *SHAPE, generator=torch.Generator().manual_seed(1))


def _loss(model, x, seed=7):
    torch.manual_seed(seed)
    return model.loss(x)


def test_loss_mixes_the_elbo_and_the_iwae_bound_of_the_same_draws():
    model, x = _model(k=5, beta=0.3), _batch()
    loss, parts = _loss(model, x)
    lw = plain_log_weights(model, x, 5, seed=7)
    elbo, iwae = lw.mean(0), torch.logsumexp(lw, 0) - math.log(5)
    assert (iwae - elbo).mean().item() > 0.5
    assert loss.item() == pytest.approx(-(0.3 * elbo + 0.7 * iwae).mean().item(), rel=1e-5)
    assert parts["neg_elbo"].item() == pytest.approx(-elbo.mean().item(), rel=1e-5)
    assert parts["neg_iw_bound"].item() == pytest.approx(-iwae.mean().item(), rel=1e-5)


def test_beta_one_is_the_k_sample_elbo():
    model, x = _model(k=5, beta=1.0), _batch()
    ciwae, _ = _loss(model, x)
    model.objective = IWBound(5)
    _, parts = _loss(model, x)  # -log p(x|z) and log q - log p over the same 5 draws: minus their ELBO
    assert ciwae.item() == pytest.approx((parts["reconstruction"] + parts["kl"]).item(), rel=1e-6)


def test_beta_zero_is_the_iwae_bound():
    model, x = _model(k=5, beta=0.0), _batch()
    ciwae, _ = _loss(model, x)
    model.objective = IWBound(5)
    iwae, _ = _loss(model, x)
    assert ciwae.item() == pytest.approx(iwae.item(), rel=1e-6)


@pytest.mark.parametrize("beta", [1.5, -0.5])
def test_beta_outside_zero_one_is_refused(beta):
    with pytest.raises(ValueError, match="beta must be"):
        create_model("ciwae", input_shape=SHAPE, beta=beta)


def test_capabilities_and_evaluation_are_the_plain_vaes():
    model, x = _model(), _batch()
    assert (model.objective.k, model.objective.beta) == (16, 0.5)
    assert model.capabilities.likelihood_bound
    metrics = Evaluator(iw_samples=20).evaluate(model, x)
    assert "not_applicable" not in metrics and metrics["kl"] > 0


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
