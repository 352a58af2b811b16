"""planar-vae: planar and radial flows against plain-torch references, the invertibility constraints (w^T u_hat > -1,
beta >= -alpha) with autograd's Jacobian determinant, identity steps giving the VAE, the Evaluator's bounds at the
flow's own draws, and shared (non-amortised) parameters."""
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import loss_before_and_after_steps
from torch.distributions import Normal

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.models.planar_vae import planar, radial

SHAPE, D = (1, 8, 8), 3


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("planar-vae", input_shape=SHAPE, latent_dim=D, **hyper)


def _batch(n=6):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum((-3, -2, -1))


def _planar_ref(z, w, u, b):
    """Rezende & Mohamed's planar step with the u_hat of their appendix A.1."""
    wu = (w * u).sum(-1, keepdim=True)
    u_hat = u + (-1 + torch.log(1 + wu.exp()) - wu) * w / w.norm(dim=-1, keepdim=True) ** 2
    a = (z * w).sum(-1, keepdim=True) + b
    psi = (1 - torch.tanh(a) ** 2) * w
    return z + u_hat * torch.tanh(a), torch.log((1 + (psi * u_hat).sum(-1)).abs())


def _radial_ref(z, z0, alpha_raw, beta_raw):
    alpha = torch.log(1 + alpha_raw.exp())
    beta = -alpha + torch.log(1 + beta_raw.exp())
    r = (z - z0).norm(dim=-1, keepdim=True)
    h, dh = 1 / (alpha + r), -1 / (alpha + r) ** 2
    log_det = (D - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h + beta * dh * r)
    return z + beta * h * (z - z0), log_det.squeeze(-1)


def _reference_flow(model, z, extra):
    """z0 -> (z_K, sum log|det|) from the encoder's per-image parameters, step by step."""
    log_det = torch.zeros(z.shape[:-1])
    for p in extra.unflatten(-1, (model.posterior.n_steps, -1)).unbind(-2):
        if model.posterior.flow_kind == "planar":
            z, ld = _planar_ref(z, p[..., :D], p[..., D:2 * D], p[..., 2 * D:])
        else:
            z, ld = _radial_ref(z, p[..., :D], p[..., D:D + 1], p[..., D + 1:])
        log_det = log_det + ld
    return z, log_det


@pytest.mark.parametrize("flow", ["planar", "radial"])
def test_loss_is_the_elbo_with_the_flowed_density_on_a_fixed_batch(flow):
    model, x = _model(flow=flow), _batch()
    assert model.posterior.n_steps == 4 and model.posterior.amortised  # the defaults
    with torch.no_grad():
        model.encoder.extra.weight.normal_(0, 0.3)
    torch.manual_seed(4)
    loss, parts = model.loss(x)
    mu, logvar, extra = model.encoder(x)
    std = (0.5 * logvar).exp()
    torch.manual_seed(4)
    z0 = mu + torch.randn_like(mu) * std
    z, log_det = _reference_flow(model, z0, extra)
    kl = Normal(mu, std).log_prob(z0).sum(-1) - log_det - Normal(0.0, 1.0).log_prob(z).sum(-1)
    assert parts["kl"].item() == pytest.approx(kl.mean().item(), rel=1e-5)
    assert loss.item() == pytest.approx((_bce(model.decoder(z), x) + kl).mean().item(), rel=1e-5)


def test_u_hat_keeps_every_planar_step_invertible():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(64, D, generator=g, dtype=torch.float64)
    u = -5 * w / w.norm(dim=-1, keepdim=True) ** 2 + 0.5 * torch.randn(64, D, generator=g, dtype=torch.float64)
    assert ((w * u).sum(-1) < -1).all()  # raw u would fold the space over (pythae's planar flow does)
    p = torch.cat([w, u, torch.randn(64, 1, generator=g, dtype=torch.float64)], -1)
    z = 2 * torch.randn(64, D, generator=g, dtype=torch.float64)
    for i in range(64):
        jac = torch.autograd.functional.jacobian(lambda v: planar(v[None], p[i])[0][0], z[i])
        sign, log_abs = torch.linalg.slogdet(jac)
        assert sign.item() == 1.0  # det > 0 everywhere: no fold
        assert planar(z[i:i + 1], p[i])[1].item() == pytest.approx(log_abs.item(), abs=1e-10)


def test_radial_steps_keep_beta_above_minus_alpha():
    g = torch.Generator().manual_seed(1)
    p = torch.cat([torch.randn(64, D, generator=g), torch.randn(64, 1, generator=g),
                   -20 + torch.randn(64, 1, generator=g)], -1).double()  # beta' -> -inf: beta -> -alpha
    z = torch.randn(64, D, generator=g, dtype=torch.float64)
    for i in range(0, 64, 8):
        jac = torch.autograd.functional.jacobian(lambda v: radial(v[None], p[i])[0][0], z[i])
        sign, log_abs = torch.linalg.slogdet(jac)
        assert sign.item() == 1.0
        assert radial(z[i:i + 1], p[i])[1].item() == pytest.approx(log_abs.item(), abs=1e-8)


def _vae_loss_on_the_same_networks(model, x, seed):
    vae = create_model("conv-vae", input_shape=SHAPE, latent_dim=D)
    missing, unexpected = vae.load_state_dict(model.state_dict(), strict=False)
    assert not missing and set(unexpected) <= {"encoder.extra.weight", "encoder.extra.bias", "posterior.params"}
    vae.prior.distribution = lambda: None  # the Monte-Carlo KL log q(z) - log p(z), as the flow's
    vae.prior.kl = lambda q, z=None: None  # (no closed form either)
    torch.manual_seed(seed)
    return vae.loss(x)[0]


@pytest.mark.parametrize("flow", ["planar", "radial"])
def test_identity_steps_give_the_vae_exactly(flow):
    model, x = _model(flow=flow), _batch()
    with torch.no_grad():
        model.encoder.extra.weight.zero_()
        bias = model.encoder.extra.bias.view(model.posterior.n_steps, -1)
        bias.normal_()
        if flow == "planar":  # u = log(e - 1) w / |w|^2 gives u_hat = 0 (raw u = 0 would not)
            w = bias[:, :D]
            bias[:, D:2 * D] = math.log(math.e - 1) * w / (w * w).sum(-1, keepdim=True)
        else:  # beta' = alpha' gives beta = 0
            bias[:, D + 1] = bias[:, D]
    torch.manual_seed(3)
    flow_loss, _ = model.loss(x)
    assert flow_loss.item() == pytest.approx(_vae_loss_on_the_same_networks(model, x, seed=3).item(), abs=1e-5)


def test_no_steps_is_the_vae_bit_for_bit():
    model, x = _model(flow_steps=0), _batch()
    torch.manual_seed(3)
    assert model.loss(x)[0].item() == _vae_loss_on_the_same_networks(model, x, seed=3).item()


def test_evaluator_scores_the_flowed_density_at_its_draws():
    model, x = _model(flow="radial"), _batch(5)
    with torch.no_grad():
        model.encoder.extra.weight.normal_(0, 0.3)
    k = 6
    metrics = Evaluator(elbo_samples=k, iw_samples=k, seed=0).evaluate(model, x)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)  # the Evaluator's draws: ELBO first, then the IW bound
        mu, logvar, extra = model.encoder(x)
        std = (0.5 * logvar).exp()
        z01 = mu + torch.randn((k, *mu.shape), generator=g) * std
        z02 = mu + torch.randn((k, *mu.shape), generator=g) * std
        z2, log_det2 = _reference_flow(model, z02, extra)
        z1, log_det1 = _reference_flow(model, z01, extra)
        log_p = lambda z: Normal(0.0, 1.0).log_prob(z).sum(-1)  # noqa: E731
        decode = lambda z: model.decoder(z.flatten(0, 1)).unflatten(0, (k, -1))  # noqa: E731
        kl = (Normal(mu, std).log_prob(z01).sum(-1) - log_det1 - log_p(z1)).mean(0)
        log_w = -_bce(decode(z2), x) + log_p(z2) - Normal(mu, std).log_prob(z02).sum(-1) + log_det2
        iw_nll = -(torch.logsumexp(log_w, 0) - math.log(k))
    assert metrics["posterior"] == "flow" and "not_applicable" not in metrics
    assert metrics["kl"] == pytest.approx(kl.mean().item(), rel=1e-4)
    assert metrics["neg_elbo"] == pytest.approx((_bce(decode(z1), x).mean(0) + kl).mean().item(), rel=1e-4)
    assert metrics["iw_nll"] == pytest.approx(iw_nll.mean().item(), rel=1e-4)


def test_shared_parameters_train_with_the_model():
    model, x = _model(amortised=False), _batch()
    assert model.posterior.encoder_extra == 0 and model.posterior.params.shape == (4, 2 * D + 1)
    torch.manual_seed(2)
    loss, _ = model.loss(x)
    mu, logvar = model.encoder(x)
    torch.manual_seed(2)
    z0 = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    z, log_det = _reference_flow(model, z0, model.posterior.params.flatten().expand(len(x), -1))
    kl = Normal(mu, (0.5 * logvar).exp()).log_prob(z0).sum(-1) - log_det - Normal(0.0, 1.0).log_prob(z).sum(-1)
    assert loss.item() == pytest.approx((_bce(model.decoder(z), x) + kl).mean().item(), rel=1e-5)
    start = model.posterior.params.detach().clone()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1 and not torch.equal(start, model.posterior.params)


def test_bad_hyperparameters_are_refused():
    with pytest.raises(ValueError, match="flow must be one of 'planar', 'radial'"):
        _model(flow="sylvester")
    with pytest.raises(ValueError, match="flow_steps must be a whole number >= 0"):
        _model(flow_steps=-1)


@pytest.mark.parametrize("flow", ["planar", "radial"])
def test_a_few_steps_lower_the_loss(flow):
    model, x = _model(flow=flow), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
