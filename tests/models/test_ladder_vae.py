"""ladder-vae: the precision-weighted merge, the top-down posterior and the per-level KLs against plain-torch
references on a fixed batch, one level being the conv VAE exactly, the analytic KL against a Monte-Carlo estimate, and
the Evaluator's joint importance weights."""
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import loss_before_and_after_steps
from torch.distributions import Normal

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.models.ladder_vae import merge

SHAPE, LEVELS = (1, 8, 8), (4, 2)


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("ladder-vae", input_shape=SHAPE, **{"latent_sizes": LEVELS, "hidden": (16,), **hyper})


def _batch(n=6):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum((-3, -2, -1))


def _merge_ref(mu_b, var_b, mu_p, var_p):
    """Sønderby et al.'s eq. (18)-(19), in variances."""
    var = 1 / (1 / var_b + 1 / var_p)
    return (mu_b / var_b + mu_p / var_p) * var, var


def _kl_ref(mu_q, var_q, mu_p, var_p):
    return 0.5 * (torch.log(var_p / var_q) + (var_q + (mu_q - mu_p) ** 2) / var_p - 1).sum(-1)


def _two_levels(model, x, e2, e1):
    """The top-down pass by hand from noises e2, e1: (z1, z2, q1, q2, p1) with (mean, variance) pairs."""
    (mu1h, lv1h), (mu2, lv2) = model.encoder(x)
    z2 = mu2 + lv2.mul(0.5).exp() * e2
    mu_p, lv_p = model.prior.down[0](z2)
    mu_q, var_q = _merge_ref(mu1h, lv1h.exp(), mu_p, lv_p.exp())
    z1 = mu_q + var_q.sqrt() * e1
    return z1, z2, (mu_q, var_q), (mu2, lv2.exp()), (mu_p, lv_p.exp())


def test_merge_of_equal_gaussians_halves_the_variance_and_a_flat_prior_keeps_the_bottom_up_one():
    mu, lv = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    m, v = merge((mu, lv), (mu, lv))
    assert torch.allclose(m, mu) and torch.allclose(v, lv - math.log(2))
    m, v = merge((mu, lv), (torch.randn(5, 3, dtype=torch.float64), torch.full((5, 3), 80.0, dtype=torch.float64)))
    assert torch.allclose(m, mu) and torch.allclose(v, lv)
    other = (torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64))
    ref_mu, ref_var = _merge_ref(mu, lv.exp(), other[0], other[1].exp())
    m, v = merge((mu, lv), other)
    assert torch.allclose(m, ref_mu) and torch.allclose(v.exp(), ref_var)


def test_loss_is_the_elbo_with_per_level_kls_on_a_fixed_batch():
    model, x = _model(), _batch()
    torch.manual_seed(4)
    loss, parts = model.loss(x)
    torch.manual_seed(4)  # the model draws the top level first
    e2, e1 = torch.randn(len(x), 2), torch.randn(len(x), 4)
    z1, z2, q1, q2, p1 = _two_levels(model, x, e2, e1)
    kl2 = _kl_ref(q2[0], q2[1], torch.zeros_like(q2[0]), torch.ones_like(q2[1]))
    kl1 = _kl_ref(*q1, *p1)
    assert parts["kl"].item() == pytest.approx((kl1 + kl2).mean().item(), rel=1e-5)
    assert loss.item() == pytest.approx((_bce(model.decoder.image(z1), x) + kl1 + kl2).mean().item(), rel=1e-5)


def test_joint_densities_and_the_evaluators_importance_weights_against_the_reference():
    model, x = _model(), _batch(5)
    k = 6
    metrics = Evaluator(elbo_samples=k, iw_samples=k, seed=0).evaluate(model, x)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        draws = [(torch.randn(k, len(x), 2, generator=g), torch.randn(k, len(x), 4, generator=g)) for _ in range(2)]
        (z1, z2, q1, q2, p1), (y1, y2, r1, r2, s1) = (_two_levels(model, x, *d) for d in draws)
        n = lambda z, g: Normal(g[0], g[1].sqrt()).log_prob(z).sum(-1)  # noqa: E731
        log_q = n(y1, r1) + n(y2, r2)
        log_p = n(y1, s1) + Normal(0.0, 1.0).log_prob(y2).sum(-1)
        q = model.infer(x)
        joint = torch.cat([y1, y2], -1)
        assert torch.allclose(q.log_prob(joint), log_q, atol=1e-5)
        assert torch.allclose(model.prior.log_prob(joint), log_p, atol=1e-5)
        decode = lambda z: model.decoder.image(z.flatten(0, 1)).unflatten(0, (k, -1))  # noqa: E731
        log_w = -_bce(decode(y1), x) + log_p - log_q
        iw_nll = -(torch.logsumexp(log_w, 0) - math.log(k))
        kl1 = _kl_ref(*q1, *p1).mean(0)
        kl2 = _kl_ref(q2[0], q2[1], torch.zeros_like(q2[0]), torch.ones_like(q2[1]))
    assert metrics["posterior"] == "hierarchical" and metrics["latent_dim"] == 6
    assert metrics["iw_nll"] == pytest.approx(iw_nll.mean().item(), rel=1e-4)
    assert metrics["kl_level1"] == pytest.approx(kl1.mean().item(), rel=1e-4)
    assert metrics["kl_level2"] == pytest.approx(kl2.mean().item(), rel=1e-4)
    assert metrics["kl"] == pytest.approx(metrics["kl_level1"] + metrics["kl_level2"], rel=1e-6)
    assert metrics["neg_elbo"] == pytest.approx((_bce(decode(z1), x).mean(0) + kl1 + kl2).mean().item(), rel=1e-4)


def test_analytic_kls_are_the_expected_monte_carlo_kl():
    model, x = _model(), _batch(3)
    with torch.no_grad():
        q = model.infer(x)
        z = q.sample(20000, torch.Generator().manual_seed(0))
        terms = q.log_prob(z) - model.prior.log_prob(z)  # (k, N)
        analytic = sum(q.kl_per_level(model.prior, z))
    se = terms.std(0) / math.sqrt(len(terms))
    assert ((terms.mean(0) - analytic).abs() < 4 * se).all()


def test_one_level_is_the_conv_vae_exactly():
    ladder = _model(latent_sizes=(3,))
    vae = create_model("conv-vae", input_shape=SHAPE, latent_dim=3)
    vae.load_state_dict({k.replace("image.", ""): v for k, v in ladder.state_dict().items()})
    x = _batch()
    torch.manual_seed(2)
    ladder_loss, ladder_parts = ladder.loss(x)
    torch.manual_seed(2)
    vae_loss, vae_parts = vae.loss(x)
    assert ladder_parts["kl"].item() == pytest.approx(vae_parts["kl"].item(), rel=1e-6)
    assert ladder_loss.item() == pytest.approx(vae_loss.item(), rel=1e-6)
    assert torch.equal(ladder.encode(x), vae.encode(x))


def test_the_decoder_reads_the_bottom_level_and_the_prior_draws_top_down():
    model = _model()
    z = model.prior.sample(5, torch.Generator().manual_seed(0))
    assert z.shape == (5, 6)
    other_top = torch.cat([z[:, :4], torch.randn(5, 2)], -1)
    assert torch.equal(model.decode(z), model.decode(other_top))
    g = torch.Generator().manual_seed(0)
    z2 = torch.randn(5, 2, generator=g)
    with torch.no_grad():
        mu, logvar = model.prior.down[0](z2)
        z1 = mu + (0.5 * logvar).exp() * torch.randn(5, 4, generator=g)
    assert torch.allclose(z, torch.cat([z1, z2], -1))


def test_the_top_down_network_is_shared_by_inference_and_generation():
    model, x = _model(), _batch()
    assert not list(model.posterior.parameters())
    q = model.infer(x)
    kl1 = q.kl_per_level(model.prior, q.sample())[0].sum()
    model.zero_grad()
    kl1.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.prior.down[0].mu.parameters())


def test_latent_sizes_are_checked():
    with pytest.raises(ValueError, match="latent_sizes must be one or more latent sizes"):
        _model(latent_sizes=())
    with pytest.raises(ValueError, match="latent_sizes must be one or more latent sizes"):
        _model(latent_sizes=(4, 0))


def test_a_few_steps_lower_the_loss():
    model, x = _model(latent_sizes=(4, 3, 2)), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
