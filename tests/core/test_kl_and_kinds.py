"""A posterior/prior pair's own KL comes before torch.distributions and Monte Carlo, in training and evaluation
alike; the ELBO averages --elbo-samples draws; a posterior declares its kind, and figures say what that kind's
codes are; a hierarchical posterior's per-level KL reaches eval and the report, and traversals sweep the level the
decoder reads."""
from __future__ import annotations

import pytest
import torch
from kl_models import D1, SHAPE, ShiftedNormal, shifted_prior_vae, two_level_vae
from torch.distributions import Normal, kl_divergence

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.evaluator import Evaluator
from aezoo.core.interfaces import Step
from aezoo.core.objectives import ELBO, kl_to_prior
from aezoo.core.posteriors import KINDS, GaussianQ, Posterior
from aezoo.core.priors import StandardNormal
from aezoo.data.splits import Split


def _batch(n: int = 6) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(3))


def test_a_q_objects_own_kl_comes_before_torch_distributions():
    q = GaussianQ(torch.randn(3, 2), torch.zeros(3, 2))
    exact = kl_to_prior(q, StandardNormal(2))

    class OwnKL(GaussianQ):
        def kl_to(self, prior, z):
            return torch.full((3,), 7.0) if isinstance(prior, StandardNormal) else None

    own = OwnKL(q.mu, q.logvar)
    assert torch.equal(kl_to_prior(own, StandardNormal(2)), torch.full((3,), 7.0))
    assert torch.equal(kl_to_prior(own, ShiftedNormal(2)), kl_to_prior(q, ShiftedNormal(2)))  # None: falls through
    assert torch.allclose(kl_to_prior(q, StandardNormal(2)), exact)


def test_a_priors_closed_form_kl_is_used_by_the_elbo_and_by_the_evaluator():
    model = shifted_prior_vae()
    x = _batch()
    q = model.infer(x)
    exact = kl_divergence(Normal(q.mean, q.std), Normal(torch.full_like(q.mean, 0.8), 1.0)).sum(-1)
    mc = (q.log_prob(q.sample(1)) - model.prior.log_prob(q.sample(1))).mean(0)
    assert not torch.allclose(mc, exact, atol=1e-3)  # one Monte-Carlo draw is far from the closed form
    _, parts = model.loss(x, Step())
    assert torch.allclose(parts["kl"], exact.mean())
    metrics = Evaluator(iw_samples=2).evaluate(model, x)
    assert metrics["kl"] == pytest.approx(exact.mean().item(), rel=1e-5)
    assert model.prior.calls >= 2


def test_the_elbo_averages_elbo_samples_draws_per_image():
    model = shifted_prior_vae()
    x = _batch(4)
    q = model.infer(x)
    results = {}
    for k in (1, 25):
        z = q.sample(k, torch.Generator().manual_seed(0))  # the evaluator's first draws, seed 0
        nll = -model.likelihood.log_prob(model.decoder(z.flatten(0, 1)).unflatten(0, (k, -1)), x).mean(0)
        expected = (nll + kl_to_prior(q, model.prior, z)).mean().item()
        metrics = Evaluator(iw_samples=1, elbo_samples=k, seed=0).evaluate(model, x)
        assert metrics["neg_elbo"] == pytest.approx(expected, rel=1e-5) and metrics["elbo_samples"] == k
        results[k] = metrics["neg_elbo"]
    assert results[1] != pytest.approx(results[25], rel=1e-6)
    with pytest.raises(ValueError, match="elbo_samples must be >= 1"):
        Evaluator(elbo_samples=0).evaluate(model, x)


def test_a_posterior_must_declare_one_of_the_kinds():
    from kl_models import MLPDecoder, MLPGaussianEncoder

    class Unnamed(Posterior):
        has_density = True

        def forward(self, h):
            return GaussianQ(*h)

    with pytest.raises(TypeError, match="declares kind ''; a Posterior must declare one of gaussian, point"):
        AutoEncoder(MLPGaussianEncoder(3), MLPDecoder(3), ELBO(), SHAPE, posterior=Unnamed(3))
    assert {"gaussian", "point", "quantised", "flow", "hyperspherical", "categorical", "hierarchical"} <= set(KINDS)


def test_per_level_kl_sums_to_the_kl_in_evaluation_and_training():
    model = two_level_vae()
    x = _batch(8)
    metrics = Evaluator(iw_samples=3, elbo_samples=4).evaluate(model, x)
    assert metrics["posterior"] == "hierarchical"
    assert metrics["kl_level1"] > 0 and metrics["kl_level2"] > 0
    assert metrics["kl_level1"] + metrics["kl_level2"] == pytest.approx(metrics["kl"], rel=1e-6)
    torch.manual_seed(0)
    out = model(x)
    levels = out.q.kl_per_level(model.prior, out.z)
    torch.manual_seed(0)
    _, parts = model.loss(x, Step())
    assert torch.allclose(parts["kl"], sum(levels).mean())
    # the levels' closed forms agree with the Monte-Carlo KL of the joint q(z1, z2 | x)
    z = out.q.sample(20000, torch.Generator().manual_seed(1))
    mc = (out.q.log_prob(z) - model.prior.log_prob(z)).mean(0)
    assert torch.allclose(sum(out.q.kl_per_level(model.prior, z)), mc, atol=0.05)


def _splits(n: int = 40):
    from aezoo.data.splits import Splits

    images = (torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    labels = torch.arange(n) % 4
    part = Split(images, labels)
    return Splits("tiny", part, part, part)


def test_traversals_of_a_hierarchical_model_sweep_the_level_the_decoder_reads():
    from aezoo.viz import views

    shown = views.traversal(two_level_vae(), _splits(), dims=8)
    assert {d["dim"] for d in shown.info["dims"]} == set(range(D1))  # level 2 (dim 2) is never swept
    assert shown.info["ranked_by"] == "variance" and "conditioned on the level above" in shown.info["not_kl_because"]
    assert views.latent(two_level_vae(), _splits(), method="pca").info["codes"] == KINDS["hierarchical"].codes


@pytest.mark.parametrize("kind", ["flow", "hyperspherical", "categorical"])
def test_figures_name_the_codes_by_the_declared_kind_and_never_rank_a_non_gaussian_by_kl(kind):
    """A posterior with a density that is not a factorised Gaussian is ranked by code variance, saying why; the
    latent map names its codes by its kind (the duck-typed version said "KL" from the base log-variance)."""
    from aezoo.viz import views

    model = shifted_prior_vae()
    model.prior = StandardNormal(3)  # the standard-normal prior under which a Gaussian would be ranked by KL
    model.posterior.kind = kind  # a GaussianQ with mean and logvar, declared as another kind
    shown = views.traversal(model, _splits(), dims=3)
    assert shown.info["ranked_by"] == "variance" and shown.info["not_kl_because"] == KINDS[kind].no_kl
    assert shown.info["codes"] == KINDS[kind].codes
    assert views.latent(model, _splits(), method="pca").info["codes"] == KINDS[kind].codes
    model.posterior.kind = "gaussian"
    assert views.traversal(model, _splits(), dims=3).info["ranked_by"] == "KL"


def test_the_report_lists_the_kl_of_each_level_after_the_kl():
    from aezoo.viz.metrics import rows

    metrics = {f"test_{k}": v for k, v in Evaluator(iw_samples=2).evaluate(two_level_vae(), _batch()).items()}
    labels = [metric.label for metric, _ in rows({"run": metrics})]
    at = labels.index("KL(q(z|x) || p(z))")
    assert labels[at + 1:at + 3] == ["KL, level 1", "KL, level 2"]
    assert "kl_level1" not in labels
