"""dip-vae (Kumar et al. 2018): -ELBO + lambda_od x off-diagonal + lambda_d x diagonal penalty of the batch
covariance of the posterior means (type i) or of the aggregate posterior (type ii), against a plain-torch
reference; the penalty vanishes on a whitened batch and type ii tends to type i as the posterior variances vanish."""
import math

import pytest
import torch
from helpers import loss_before_and_after_steps

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.objectives import ELBO
from aezoo.models.dip_vae import dip_covariance, dip_penalties

SHAPE = (1, 8, 8)



def _model(**hyper):
    torch.manual_seed(0)
    model = create_model("dip-vae", input_shape=SHAPE, latent_dim=3, channels=(8, 16), **hyper)
    with torch.no_grad():
        model.encoder.mu.weight.mul_(50)  # posterior means that vary over the batch: a covariance near I
    return model


def _batch(n=32):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _reference(model, x, seed, dip_type, lambda_od, lambda_d):
    mu, logvar = model.encoder(x)
    torch.manual_seed(seed)
    z = mu + torch.randn(mu.shape) * torch.exp(0.5 * logvar)
    p = torch.sigmoid(model.decoder(z)).flatten(1)
    t = x.flatten(1)
    rec = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).sum(1).mean()
    kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).sum(1).mean()
    centred = mu - mu.mean(0)
    cov = centred.T @ centred / len(mu)
    if dip_type == "ii":
        cov = cov + torch.diag(logvar.exp().mean(0))
    off = sum(cov[i, j] ** 2 for i in range(3) for j in range(3) if i != j)
    diag = sum((cov[i, i] - 1) ** 2 for i in range(3))
    return rec + kl + lambda_od * off + lambda_d * diag


@pytest.mark.parametrize("dip_type", ["i", "ii"])
def test_loss_matches_an_independent_computation_on_a_fixed_batch(dip_type):
    model, x = _model(dip_type=dip_type, lambda_od=3.0, lambda_d=7.0), _batch()
    torch.manual_seed(5)
    loss, parts = model.loss(x)
    ref = _reference(model, x, 5, dip_type, 3.0, 7.0)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    assert parts["off_diagonal"].item() > 0 and parts["diagonal"].item() > 0


def test_the_penalty_vanishes_when_the_batch_covariance_is_the_identity():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(200, 3, generator=g) @ torch.tensor([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]]) + 4
    centred = mu - mu.mean(0)
    white = centred @ torch.linalg.inv(torch.linalg.cholesky(centred.T @ centred / 200)).T
    off, diag = dip_penalties(dip_covariance(white, torch.zeros_like(white), "i"))
    assert off.item() == pytest.approx(0, abs=1e-9) and diag.item() == pytest.approx(0, abs=1e-9)
    off, diag = dip_penalties(dip_covariance(mu, torch.zeros_like(mu), "i"))
    assert off.item() > 0.1 and diag.item() > 0.1


def test_type_ii_tends_to_type_i_as_the_posterior_variances_vanish_and_adds_them_otherwise():
    mu = torch.randn(50, 4, generator=torch.Generator().manual_seed(2))
    tiny, one = torch.full_like(mu, -80.0), torch.zeros_like(mu)
    assert torch.allclose(dip_covariance(mu, tiny, "ii"), dip_covariance(mu, tiny, "i"), atol=1e-12)
    assert torch.allclose(dip_covariance(mu, one, "ii"), dip_covariance(mu, one, "i") + torch.eye(4), atol=1e-6)


def test_the_penalty_ignores_a_common_shift_of_the_means():
    mu = torch.randn(50, 4, generator=torch.Generator().manual_seed(2))
    logvar = torch.zeros_like(mu)
    a, b = dip_penalties(dip_covariance(mu, logvar, "ii")), dip_penalties(dip_covariance(mu + 3, logvar, "ii"))
    assert torch.allclose(torch.stack(a), torch.stack(b), atol=1e-5)


def test_zero_weights_give_the_vaes_loss_on_the_same_draws():
    model, x = _model(lambda_od=0.0, lambda_d=0.0), _batch()
    torch.manual_seed(5)
    dip, _ = model.loss(x)
    model.objective = ELBO()
    torch.manual_seed(5)
    vae, _ = model.loss(x)
    assert dip.item() == pytest.approx(vae.item(), rel=1e-6)


def test_defaults_and_a_bad_type():
    model = create_model("dip-vae", input_shape=SHAPE)
    assert (model.objective.dip_type, model.objective.lambda_od, model.objective.lambda_d) == ("i", 10.0, 100.0)
    with pytest.raises(ValueError, match="dip_type must be one of 'i', 'ii'"):
        create_model("dip-vae", input_shape=SHAPE, dip_type="iii")


def test_evaluation_reports_the_plain_elbo_without_the_penalty():
    model, x = _model(), _batch()
    assert model.capabilities.likelihood_bound
    metrics = Evaluator(iw_samples=20).evaluate(model, x)
    assert "not_applicable" not in metrics
    assert math.isfinite(metrics["neg_elbo"]) and metrics["neg_elbo"] < 100  # the penalty (hundreds) is not in it


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch(64)
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1


def test_the_covariance_stays_in_float32_under_bfloat16_autocast():
    mu = 1 + torch.randn(64, 4, generator=torch.Generator().manual_seed(3))
    exact = dip_covariance(mu.double(), torch.zeros_like(mu).double(), "ii")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cov = dip_covariance(mu, torch.zeros_like(mu), "ii")
    assert cov.dtype == torch.float32 and torch.allclose(cov.double(), exact, atol=1e-5)
