"""svae: the closed-form KL(vMF || uniform) against the 3-D closed forms and a Monte-Carlo estimate with the model's
own sampler, the sampler's distribution (norm, mean cosine, the exact 3-D law of mu^T z), stable Bessel ratios, the
Householder map, the loss and the Evaluator's bounds against plain-torch references."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import loss_before_and_after_steps
from scipy.special import iv

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.models.svae import (
    UniformSphere,
    VonMisesFisherQ,
    householder,
    log_ive,
    vmf_kl_to_uniform,
    vmf_log_norm,
    wood_cosines,
)

SHAPE = (1, 8, 8)


def _kl_3d(kappa):
    """KL(vMF || U(S^2)) from C_3 = kappa / (4 pi sinh kappa) and A_3 = coth kappa - 1/kappa, no Bessel function."""
    log_sinh = kappa + torch.log1p(-torch.exp(-2 * kappa)) - math.log(2)
    log_c = torch.log(kappa) - math.log(4 * math.pi) - log_sinh
    return kappa * (1 / torch.tanh(kappa) - 1 / kappa) + log_c + math.log(4 * math.pi)


def _q(m, kappa, n=1, seed=0):
    loc = F.normalize(torch.randn(n, m, generator=torch.Generator().manual_seed(seed), dtype=torch.float64), dim=-1)
    return VonMisesFisherQ(loc, torch.full((n,), float(kappa), dtype=torch.float64))


def test_kl_matches_the_3d_closed_form():
    kappa = torch.tensor([1.0, 2.5, 10.0, 50.0, 300.0], dtype=torch.float64)
    assert torch.allclose(vmf_kl_to_uniform(3, kappa), _kl_3d(kappa), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("m,kappa", [(3, 4.0), (6, 15.0), (16, 50.0)])
def test_kl_matches_a_monte_carlo_estimate_with_the_models_sampler(m, kappa):
    q = _q(m, kappa)
    z = q.sample(20000, torch.Generator().manual_seed(1))
    terms = q.log_prob(z)[:, 0] - UniformSphere(m).log_prob(z)[:, 0]  # log q - log p
    se = terms.std() / math.sqrt(len(terms))
    assert abs(terms.mean() - vmf_kl_to_uniform(m, q.concentration)[0]) < 4 * se


@pytest.mark.parametrize("m,kappa", [(3, 0.5), (3, 8.0), (10, 30.0), (40, 5.0)])
def test_draws_lie_on_the_sphere_with_the_right_mean_cosine(m, kappa):
    q = _q(m, kappa)
    z = q.sample(20000, torch.Generator().manual_seed(2))[:, 0]
    assert torch.allclose(z.norm(dim=-1), torch.ones(len(z), dtype=torch.float64), atol=1e-12)
    cos = z @ q.loc[0]
    a_m = iv(m / 2, kappa) / iv(m / 2 - 1, kappa)  # E[mu^T z]
    assert abs(cos.mean().item() - a_m) < 4 * cos.std().item() / math.sqrt(len(z))
    orthogonal = (z - cos[:, None] * q.loc[0]).mean(0)  # the direction around mu is uniform
    assert orthogonal.norm() < 4 * math.sqrt(m / len(z))


def test_the_3d_cosine_follows_its_exact_law():
    kappa = 3.0
    w = np.sort(wood_cosines(torch.full((20000,), kappa, dtype=torch.float64), 3,
                             torch.Generator().manual_seed(3)).numpy())
    cdf = (np.exp(kappa * w) - np.exp(-kappa)) / (np.exp(kappa) - np.exp(-kappa))  # P(mu^T z <= w) on S^2
    ks = np.max(np.abs(cdf - np.arange(1, len(w) + 1) / len(w)))
    assert ks < 1.63 / math.sqrt(len(w))  # Kolmogorov-Smirnov at the 1% level


def test_large_concentrations_stay_finite_in_float32():
    kappa = torch.tensor([1e2, 1e4, 1e6], requires_grad=True)
    w = wood_cosines(kappa, 16, torch.Generator().manual_seed(0))
    assert torch.isfinite(w).all() and (w <= 1).all() and (w > 0.9).all()
    w.sum().backward()
    assert torch.isfinite(kappa.grad).all()
    kl = vmf_kl_to_uniform(16, torch.tensor([1e4, 1e6]))
    assert torch.isfinite(kl).all() and kl[1] > kl[0]


def test_log_bessel_matches_scipy_and_has_the_right_gradient():
    kappa = torch.tensor([0.3, 1.0, 7.0, 60.0], dtype=torch.float64, requires_grad=True)
    for nu in (0.0, 0.5, 2.0, 7.0):
        assert torch.allclose(log_ive(nu, kappa), torch.from_numpy(np.log(iv(nu, kappa.detach().numpy()))) - kappa,
                              rtol=1e-10)
        assert torch.autograd.gradcheck(lambda k: log_ive(nu, k), (kappa,))
    tiny = log_ive(200.0, torch.tensor([1.0], dtype=torch.float64))  # I_200(1) underflows float64
    assert torch.isfinite(tiny).all() and tiny.item() == pytest.approx(200 * math.log(0.5) - math.lgamma(201) - 1,
                                                                       rel=1e-3)


def test_householder_takes_e1_to_mu_and_is_a_reflection():
    mu = F.normalize(torch.randn(5, 4, dtype=torch.float64), dim=-1)
    e1 = torch.zeros(5, 4, dtype=torch.float64)
    e1[:, 0] = 1
    assert torch.allclose(householder(mu, e1), mu, atol=1e-12)
    v = torch.randn(5, 4, dtype=torch.float64)
    assert torch.allclose(householder(mu, householder(mu, v)), v, atol=1e-12)
    assert torch.allclose(householder(e1, v), v)  # mu == e1: the identity


def test_density_integrates_on_the_circle():
    q = _q(2, 3.0)
    theta = torch.linspace(0, 2 * math.pi, 20001, dtype=torch.float64)[:-1]
    z = torch.stack([theta.cos(), theta.sin()], -1)[:, None]
    assert q.log_prob(z).exp().mean().item() * 2 * math.pi == pytest.approx(1.0, rel=1e-9)
    assert vmf_log_norm(2, q.concentration).item() == pytest.approx(-math.log(2 * math.pi * iv(0, 3.0)), rel=1e-12)


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("svae", input_shape=SHAPE, latent_dim=3, **hyper)


def _batch(n=6):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum((-3, -2, -1))


def test_loss_is_the_reconstruction_plus_the_closed_form_kl_on_a_fixed_batch():
    model, x = _model(), _batch()
    torch.manual_seed(4)
    loss, parts = model.loss(x)
    torch.manual_seed(4)
    out = model(x)  # the same draw
    direction, raw = model.encoder(x)
    kappa = F.softplus(raw[:, 0]) + 1
    assert torch.allclose(out.z.norm(dim=-1), torch.ones(len(x)), atol=1e-6)
    assert torch.allclose(out.q.mean, F.normalize(direction, dim=-1))
    kl = _kl_3d(kappa.double()).float()
    assert parts["kl"].item() == pytest.approx(kl.mean().item(), rel=1e-5)
    assert loss.item() == pytest.approx((_bce(model.decoder(out.z), x) + kl).mean().item(), rel=1e-5)


def test_evaluator_uses_the_closed_form_kl_and_the_vmf_density_at_its_draws():
    model, x = _model(), _batch(5)
    k = 6
    metrics = Evaluator(elbo_samples=k, iw_samples=k, seed=0).evaluate(model, x)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)  # the Evaluator's generator: the ELBO's draws first, then the IW bound's
        q = model.infer(x)
        z1, z2 = q.sample(k, g), q.sample(k, g)
        direction, raw = model.encoder(x)
        mu, kappa = F.normalize(direction, dim=-1), F.softplus(raw[:, 0]) + 1
        log_q = kappa * (z2 * mu).sum(-1) + torch.log(kappa / (4 * math.pi * torch.sinh(kappa)))
        decode = lambda z: model.decoder(z.flatten(0, 1)).unflatten(0, (k, -1))  # noqa: E731
        log_w = -_bce(decode(z2), x) - math.log(4 * math.pi) - log_q
        iw_nll = -(torch.logsumexp(log_w, 0) - math.log(k))
        kl = _kl_3d(kappa.double())
    assert metrics["posterior"] == "hyperspherical" and metrics["prior"] == "the uniform distribution on the sphere S^2"
    assert metrics["kl"] == pytest.approx(kl.mean().item(), rel=1e-5)
    assert metrics["neg_elbo"] == pytest.approx((_bce(decode(z1), x).mean(0) + kl).mean().item(), rel=1e-5)
    assert metrics["iw_nll"] == pytest.approx(iw_nll.mean().item(), rel=1e-4)


def test_prior_samples_are_uniform_on_the_sphere():
    model = _model()
    z = model.prior.sample(20000, torch.Generator().manual_seed(0))
    assert torch.allclose(z.norm(dim=-1), torch.ones(len(z)), atol=1e-5)
    assert z.mean(0).norm() < 4 * math.sqrt(3 / len(z))
    images = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert images.shape == (4, *SHAPE)


def test_gradients_reach_the_direction_and_the_concentration():
    model, x = _model(), _batch()
    loss, _ = model.loss(x)
    loss.backward()
    grad = model.encoder.extra.weight.grad  # the concentration's head
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert model.encoder.mu.weight.grad.abs().sum() > 0


def test_a_one_dimensional_sphere_is_refused():
    with pytest.raises(ValueError, match="latent_dim must be a whole number >= 2"):
        create_model("svae", input_shape=SHAPE, latent_dim=1)


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
