"""swae (Kolouri et al. 2019): reconstruction + reg_weight x the sliced Wasserstein distance SW_2^2 between codes
and prior draws, against a plain-torch reference; the distance's own identities (0 for a permutation, the exact
W_2^2 in 1-D, |shift|^2 / D between N(0, I) and N(shift, I)); no likelihood bound."""
import math

import pytest
import torch
from helpers import loss_before_and_after_steps

from aezoo.api.build import create_model
from aezoo.core.evaluator import NO_POSTERIOR_DENSITY, Evaluator
from aezoo.models.swae import random_directions, sliced_wasserstein

SHAPE = (1, 8, 8)



def _model(**hyper):
    torch.manual_seed(0)
    return create_model("swae", input_shape=SHAPE, latent_dim=3, channels=(8, 16), **hyper)


def _batch(n=32):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def test_the_distance_of_a_sample_to_its_own_permutation_is_zero():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(64, 3, generator=g)
    directions = random_directions(20, 3, z, g)
    assert sliced_wasserstein(z, z[torch.randperm(64, generator=g)], directions).item() == pytest.approx(0, abs=1e-12)


def test_in_one_dimension_it_is_the_exact_wasserstein_distance_of_the_sorted_samples():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, 1, generator=g), torch.randn(64, 1, generator=g) + 2
    exact = (a.sort(0).values - b.sort(0).values).pow(2).mean()
    for sign in (1.0, -1.0):  # either direction of the line
        assert sliced_wasserstein(a, b, torch.tensor([[sign]])).item() == pytest.approx(exact.item(), rel=1e-6)


def test_between_two_unit_gaussians_it_is_the_mean_squared_projected_shift():
    """Along a direction u, N(0, I) and N(s, I) project to N(0, 1) and N(u.s, 1), whose W_2^2 is (u.s)^2; averaged
    over uniform directions that is |s|^2 / D."""
    g = torch.Generator().manual_seed(0)
    shift = torch.tensor([2.0, -1.0, 0.0, 1.0])  # |s|^2 / D = 6 / 4
    a, b = torch.randn(4000, 4, generator=g), torch.randn(4000, 4, generator=g) + shift
    directions = random_directions(1000, 4, a, g)
    exact = (directions @ shift).pow(2).mean().item()
    assert exact == pytest.approx(1.5, abs=0.2)
    assert sliced_wasserstein(a, b, directions).item() == pytest.approx(exact, abs=0.02)
    assert sliced_wasserstein(a, torch.randn(4000, 4, generator=g), directions).item() < 0.02


def test_directions_are_unit_vectors_and_samples_must_pair_up():
    d = random_directions(100, 5, torch.zeros(1), torch.Generator().manual_seed(0))
    assert d.shape == (100, 5) and torch.allclose(d.norm(dim=1), torch.ones(100))
    with pytest.raises(ValueError, match="as many on each side"):
        sliced_wasserstein(torch.zeros(4, 2), torch.zeros(5, 2), d[:, :2])


def test_loss_matches_an_independent_computation_on_a_fixed_batch():
    model, x = _model(reg_weight=30.0, projections=7), _batch()
    torch.manual_seed(4)
    loss, parts = model.loss(x)
    torch.manual_seed(4)
    with torch.no_grad():
        z = model.encoder(x)  # a deterministic code
        p = torch.sigmoid(model.decoder(z)).flatten(1)
        t = x.flatten(1)
        rec = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).sum(1).mean()
        prior = torch.randn(32, 3)  # drawn first: as many prior draws as codes
        theta = torch.randn(7, 3)
        theta = theta / theta.norm(dim=1, keepdim=True)
        sw = torch.stack([((z @ u).sort().values - (prior @ u).sort().values).pow(2).mean() for u in theta]).mean()
    assert parts["reconstruction"].item() == pytest.approx(rec.item(), rel=1e-5)
    assert parts["sliced_wasserstein"].item() == pytest.approx(sw.item(), rel=1e-5)
    assert loss.item() == pytest.approx((rec + 30.0 * sw).item(), rel=1e-5)


def test_evaluation_has_no_likelihood_bound_and_reports_the_distance_to_the_prior():
    model, x = _model(), _batch(64)
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound) == ("point", "prior", False)
    assert model.sample(3).shape == (3, *SHAPE)
    metrics = Evaluator(iw_samples=5).evaluate(model, x)
    assert metrics["not_applicable"] == {k: NO_POSTERIOR_DENSITY for k in ("kl", "neg_elbo", "iw_nll")}
    assert math.isfinite(metrics["rec_nll"]) and metrics["sliced_wasserstein"] > 0
    assert Evaluator(iw_samples=5).evaluate(model, x)["sliced_wasserstein"] == metrics["sliced_wasserstein"]


def test_defaults_and_a_bad_projection_count():
    o = create_model("swae", input_shape=SHAPE).objective
    assert (o.reg_weight, o.projections) == (10.0, 50)
    with pytest.raises(ValueError, match="projections must be a positive integer"):
        create_model("swae", input_shape=SHAPE, projections=0)


def test_a_few_steps_lower_the_loss_and_pull_the_codes_to_the_prior():
    model, x = _model(reg_weight=100.0), _batch(64)
    torch.manual_seed(0)
    before = Evaluator().evaluate(model, x)["sliced_wasserstein"]
    loss_before, loss_after = loss_before_and_after_steps(model, x, steps=60)
    assert loss_after < loss_before - 1
    assert Evaluator().evaluate(model, x)["sliced_wasserstein"] < before
