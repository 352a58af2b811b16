"""miwae (Rainforth et al. 2018): minus the mean of M independent K-sample IW bounds, against a plain-torch
reference on the same draws; M=1 is the IWAE bound, K=1 the ELBO averaged over M draws."""
import math

import pytest
import torch
from helpers import loss_before_and_after_steps, plain_log_weights

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.models.iwae import IWBound
from aezoo.models.miwae import MIWAEBound, miwae_bound

SHAPE = (1, 8, 8)



def _model(**hyper):
    torch.manual_seed(0)
    model = create_model("miwae", input_shape=SHAPE, latent_dim=3, channels=(8, 16), **hyper)
    with torch.no_grad():
        model.encoder.logvar.bias.fill_(1.0)  # a wide q(z|x): the bounds differ by nats, not by rounding
    return model


def _batch():
    return torch.rand(6, *SHAPE, generator=torch.Generator().manual_seed(1))


def _loss(model, x, seed=7):
    torch.manual_seed(seed)
    return model.loss(x)


def test_loss_is_minus_the_mean_of_m_k_sample_bounds_on_a_fixed_batch():
    model, x = _model(m=2, k=3), _batch()
    loss, _ = _loss(model, x)
    lw = plain_log_weights(model, x, 6, seed=7).reshape(2, 3, -1)  # draws taken as M groups of K
    ref = (torch.logsumexp(lw, 1) - math.log(3)).mean(0)
    assert loss.item() == pytest.approx(-ref.mean().item(), rel=1e-5)
    swapped = (torch.logsumexp(lw, 0) - math.log(2)).mean(0)  # weights normalised over M: pythae's axis
    assert abs(swapped.mean().item() - ref.mean().item()) > 0.05


def test_the_defaults_are_four_groups_of_four():
    model = create_model("miwae", input_shape=SHAPE)
    assert (model.objective.m, model.objective.k) == (4, 4)


def test_one_group_is_the_iwae_bound():
    model, x = _model(m=1, k=5), _batch()
    miwae, _ = _loss(model, x)
    model.objective = IWBound(5)
    iwae, _ = _loss(model, x)
    assert miwae.item() == pytest.approx(iwae.item(), rel=1e-6)


def test_one_draw_per_group_is_the_elbo_averaged_over_the_groups():
    model, x = _model(m=5, k=1), _batch()
    miwae, _ = _loss(model, x)
    model.objective = IWBound(5)
    _, parts = _loss(model, x)  # -log p(x|z) and log q - log p averaged over the same 5 draws: minus their ELBO
    assert miwae.item() == pytest.approx((parts["reconstruction"] + parts["kl"]).item(), rel=1e-6)
    assert miwae.item() == pytest.approx(-plain_log_weights(model, x, 5, seed=7).mean().item(), rel=1e-5)


def test_the_bound_lies_between_the_elbo_and_the_iwae_bound_of_the_same_draws():
    lw = plain_log_weights(_model(), _batch(), 16, seed=3).detach()
    zeros = torch.zeros_like(lw)
    elbo, miwae, iwae = (miwae_bound(lw, zeros, zeros, m) for m in (16, 4, 1))
    assert torch.allclose(elbo, lw.mean(0)) and torch.allclose(iwae, torch.logsumexp(lw, 0) - math.log(16))
    assert bool((elbo < miwae - 1e-3).all() and (miwae < iwae - 1e-3).all())


def test_capabilities_and_evaluation_are_the_plain_vaes():
    model, x = _model(), _batch()
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound) == ("gaussian", "prior", True)
    metrics = Evaluator(iw_samples=20).evaluate(model, x)
    assert "not_applicable" not in metrics
    assert metrics["iw_nll"] <= metrics["neg_elbo"] + 0.5 and metrics["kl"] > 0
    assert set(model.objective.diagnostics) == {"reconstruction", "kl"}


@pytest.mark.parametrize("key", ["m", "k"])
def test_m_and_k_must_be_positive(key):
    with pytest.raises(ValueError, match=f"{key} must be a positive integer"):
        MIWAEBound(**{key: 0})


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
