"""info-vae: rec + (1 - alpha) KL + (alpha + lbd - 1) MMD against a hand-written IMQ MMD; alpha=0, lbd=1 is
the VAE; `zoo eval` reports the aggregate posterior's MMD to the prior."""
import pytest
import torch
import torch.nn.functional as F
from helpers import loss_before_and_after_steps

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator

SHAPE = (1, 8, 8)


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("info-vae", input_shape=SHAPE, latent_dim=3, **hyper)


def _batch(n=8):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _imq_mmd(a, b):
    """Unbiased MMD^2 with k(x, y) = sum_s C_s / (C_s + |x - y|^2), C_s = 2 D s, written with loops."""
    n, d = a.shape
    kernel = lambda x, y: sum(2 * d * s / (2 * d * s + float(((x - y) ** 2).sum()))  # noqa: E731
                              for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0))
    within = sum(kernel(a[i], a[j]) + kernel(b[i], b[j]) for i in range(n) for j in range(n) if i != j)
    across = sum(kernel(a[i], b[j]) for i in range(n) for j in range(n))
    return within / (n * (n - 1)) - 2 * across / n**2


def test_loss_on_a_fixed_batch_against_a_reference():
    model, x = _model(alpha=0.25, lbd=4.0), _batch()
    torch.manual_seed(3)
    loss, parts = model.loss(x)
    with torch.no_grad():
        mu, logvar = model.encoder(x)
        torch.manual_seed(3)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        prior_draws = torch.randn_like(mu)  # drawn after the posterior sample
        rec = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="sum") / len(x)
        kl = (0.5 * (mu**2 + logvar.exp() - 1 - logvar)).sum(1).mean()
        mmd = _imq_mmd(z, prior_draws)
    assert parts["mmd"].item() == pytest.approx(mmd, rel=1e-4, abs=1e-6)
    assert loss.item() == pytest.approx((rec + 0.75 * kl + 3.25 * mmd).item(), rel=1e-5)


def test_alpha_0_lambda_1_is_the_vae():
    info, x = _model(alpha=0.0, lbd=1.0), _batch()
    vae = create_model("conv-vae", input_shape=SHAPE, latent_dim=3)
    vae.load_state_dict(info.state_dict())
    torch.manual_seed(2)
    info_loss, _ = info.loss(x)
    torch.manual_seed(2)
    vae_loss, _ = vae.loss(x)
    assert info_loss.item() == pytest.approx(vae_loss.item(), rel=1e-6)


def test_defaults_weigh_the_mmd():
    model = _model()
    assert (model.objective.alpha, model.objective.lbd) == (0.0, 10.0)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="must not be negative"):
        _model(alpha=0.5, lbd=0.03)  # pythae's defaults: -0.47 x MMD would push q(z) away from the prior


def test_eval_reports_the_aggregate_posterior_mmd():
    model, x = _model(), _batch(10)
    metrics = Evaluator(iw_samples=4).evaluate(model, x)
    assert "not_applicable" not in metrics and {"kl", "neg_elbo", "iw_nll"} <= set(metrics)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        mu, logvar = model.encoder(x)
        z = mu + torch.randn(mu.shape, generator=g) * (0.5 * logvar).exp()
        ref = _imq_mmd(z, torch.randn(mu.shape, generator=g))
        model.encoder.mu.bias.fill_(3.0)  # an aggregate posterior far from N(0, I)
    assert metrics["mmd"] == pytest.approx(ref, rel=1e-4, abs=1e-6)
    shifted = Evaluator(iw_samples=4).evaluate(model, x)["mmd"]
    assert shifted > metrics["mmd"] + 0.5


def test_capabilities():
    caps = _model().capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound) == ("gaussian", "prior", True)


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
