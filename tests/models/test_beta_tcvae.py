"""beta-tcvae: MI + TC + dimension-wise KL sum to the Monte-Carlo KL; the minibatch estimates of log q(z) and
sum_d log q(z_d) against brute-force loops; the weighted loss on a fixed batch."""
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import loss_before_and_after_steps

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.models.beta_tcvae import log_weights, tc_terms

SHAPE = (1, 8, 8)


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("beta-tcvae", input_shape=SHAPE, latent_dim=3, **hyper)


def _batch(n=8):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _normal(z, mu, sd):
    return math.exp(-0.5 * ((z - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def _brute_force_mws(z, mu, std):
    """log q(z_i) = log (1/M) sum_j prod_d N(z_id; mu_jd, std_jd) and sum_d log (1/M) sum_j N(...), in loops."""
    m, d = len(z), len(z[0])
    log_qz, log_prod = [], []
    for i in range(m):
        joint = sum(math.prod(_normal(z[i][k], mu[j][k], std[j][k]) for k in range(d)) for j in range(m)) / m
        log_qz.append(math.log(joint))
        log_prod.append(sum(math.log(sum(_normal(z[i][k], mu[j][k], std[j][k]) for j in range(m)) / m)
                            for k in range(d)))
    return torch.tensor(log_qz, dtype=torch.float64), torch.tensor(log_prod, dtype=torch.float64)


def _draws(m=6, d=3):
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(m, d, generator=g, dtype=torch.float64), 0.5 * torch.randn(m, d, generator=g,
                                                                                         dtype=torch.float64)
    z = mu + torch.randn(m, d, generator=g, dtype=torch.float64) * (0.5 * logvar).exp()
    return z, mu, logvar


def test_the_three_terms_sum_to_the_monte_carlo_kl():
    z, mu, logvar = _draws()
    log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    log_qzx = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(1)
    for sampling, n in (("mws", 0), ("mss", 100)):
        t = tc_terms(z, mu, logvar, log_pz, n, sampling)
        assert torch.allclose(t["mi"] + t["tc"] + t["dim_kl"], log_qzx - log_pz, atol=1e-10)


def test_minibatch_weighted_estimates_against_brute_force():
    z, mu, logvar = _draws()
    log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    log_qzx = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(1)
    t = tc_terms(z, mu, logvar, log_pz, 0, "mws")
    log_qz, log_prod = _brute_force_mws(z.tolist(), mu.tolist(), (0.5 * logvar).exp().tolist())
    assert torch.allclose(log_qzx - t["mi"], log_qz, atol=1e-9)  # log q(z)
    assert torch.allclose(log_qzx - t["mi"] - t["tc"], log_prod, atol=1e-9)  # sum_d log q(z_d)


def test_stratified_weights():
    w = log_weights(5, 100, "mss", torch.zeros(())).exp()
    assert torch.allclose(w.sum(1), torch.ones(5))
    assert torch.allclose(w.diagonal(), torch.full((5,), 1 / 100))
    assert sorted(w[2].tolist()) == pytest.approx([1 / 100, 96 / 400] + [1 / 4] * 3)


def test_identical_posteriors_have_no_mutual_information_or_total_correlation():
    z, mu, logvar = _draws()
    mu, logvar = mu[:1].expand_as(mu), logvar[:1].expand_as(logvar)  # every image has the same q(z|x)
    for sampling, n in (("mws", 0), ("mss", 100)):
        t = tc_terms(z, mu, logvar, torch.zeros(len(z), dtype=z.dtype), n, sampling)
        assert torch.allclose(t["mi"], torch.zeros_like(t["mi"]), atol=1e-10)
        assert torch.allclose(t["tc"], torch.zeros_like(t["tc"]), atol=1e-10)


def test_loss_on_a_fixed_batch_weighs_the_terms():
    model, x = _model(alpha=0.5, gamma=2.0), _batch()
    assert model.objective.beta == 6.0  # the default
    torch.manual_seed(3)
    loss, parts = model.loss(x)
    with torch.no_grad():
        mu, logvar = model.encoder(x)
        torch.manual_seed(3)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        rec = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="sum") / len(x)
        log_qzx = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(1).double()
        log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1).double()
        log_qz, log_prod = _brute_force_mws(z.tolist(), mu.tolist(), (0.5 * logvar).exp().tolist())
    mi, tc, dim_kl = (log_qzx - log_qz).mean(), (log_qz - log_prod).mean(), (log_prod - log_pz).mean()
    assert parts["tc"].item() == pytest.approx(tc.item(), abs=1e-4)
    assert loss.item() == pytest.approx((rec + 0.5 * mi + 6 * tc + 2 * dim_kl).item(), rel=1e-5)


def test_unit_weights_are_the_vae_with_a_monte_carlo_kl():
    tc, x = _model(beta=1.0), _batch()
    vae = create_model("conv-vae", input_shape=SHAPE, latent_dim=3)
    vae.load_state_dict(tc.state_dict())
    vae.prior.distribution = lambda: None
    torch.manual_seed(2)
    tc_loss, _ = tc.loss(x)
    torch.manual_seed(2)
    vae_loss, _ = vae.loss(x)
    assert tc_loss.item() == pytest.approx(vae_loss.item(), rel=1e-5)


def test_options_are_checked():
    with pytest.raises(ValueError, match="needs dataset_size"):
        _model(sampling="mss")
    with pytest.raises(ValueError, match="'mws'"):
        _model(sampling="both")


def test_capabilities_and_evaluation():
    model, x = _model(), _batch()
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound) == ("gaussian", "prior", True)
    metrics = Evaluator(iw_samples=4).evaluate(model, x)
    assert "not_applicable" not in metrics and metrics["kl"] > 0


def test_a_few_steps_lower_the_loss():
    model, x = _model(sampling="mss", dataset_size=100), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
