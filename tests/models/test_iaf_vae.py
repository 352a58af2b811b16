"""iaf-vae: the ELBO of an inverse autoregressive flow posterior against a plain-torch reference (its own MADE masks
and update written out), the exact log-det against autograd's Jacobian, identity steps giving the VAE, and the
Evaluator's bounds at the flow's own draws."""
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import loss_before_and_after_steps
from torch.distributions import Normal

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator

SHAPE = (1, 8, 8)


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("iaf-vae", input_shape=SHAPE, latent_dim=3, **hyper)


def _batch(n=6):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum((-3, -2, -1))


def _made(made, z, h):
    """(m, s) of one MADE written out: masks from the sequential degrees, output i sees inputs < i only."""
    d = z.shape[-1]
    degree_in, a = torch.arange(d), z
    degree = degree_in
    for i, layer in enumerate(made.hidden):
        degree_h = torch.arange(layer.weight.shape[0]) % max(d - 1, 1)
        a = F.linear(a, layer.weight * (degree_h[:, None] >= degree[None]), layer.bias)
        if i == 0 and h is not None:
            a = a + h @ made.context.weight.T + made.context.bias
        a, degree = torch.relu(a), degree_h
    out = F.linear(a, made.out.weight * (degree_in[:, None] > degree[None]).repeat(2, 1), made.out.bias)
    return out[..., :d], out[..., d:]


def _reference_flow(model, z, h, gated=True):
    """z0 -> (z_T, sum log|det|): even-numbered steps (from 0) read the dims reversed."""
    log_det = torch.zeros(z.shape[:-1])
    for t, made in enumerate(model.posterior.steps):
        zr = z.flip(-1) if t % 2 == 0 else z
        m, s = _made(made, zr, h)
        if gated:
            gate = torch.sigmoid(s)
            zr, log_det = gate * zr + (1 - gate) * m, log_det + torch.log(gate).sum(-1)
        else:
            zr, log_det = zr * s.exp() + m, log_det + s.sum(-1)
        z = zr.flip(-1) if t % 2 == 0 else zr
    return z, log_det


def test_loss_is_the_elbo_with_the_flowed_density_on_a_fixed_batch():
    model, x = _model(), _batch()
    assert (model.posterior.update, len(model.posterior.steps), model.posterior.encoder_extra) == ("gated", 2, 16)
    torch.manual_seed(4)
    loss, parts = model.loss(x)
    mu, logvar, h = model.encoder(x)
    std = (0.5 * logvar).exp()
    torch.manual_seed(4)
    z0 = mu + torch.randn_like(mu) * std
    z, log_det = _reference_flow(model, z0, h)
    kl = Normal(mu, std).log_prob(z0).sum(-1) - log_det - Normal(0.0, 1.0).log_prob(z).sum(-1)
    assert parts["kl"].item() == pytest.approx(kl.mean().item(), rel=1e-5)
    assert loss.item() == pytest.approx((_bce(model.decoder(z), x) + kl).mean().item(), rel=1e-5)


def test_affine_steps_against_the_reference():
    model, x = _model(update="affine", context=0), _batch()
    assert model.posterior.encoder_extra == 0 and len(model.encoder(x)) == 2
    with torch.no_grad():
        for p in model.posterior.parameters():
            p.normal_(0, 0.3)
    torch.manual_seed(2)
    loss, _ = model.loss(x)
    mu, logvar = model.encoder(x)
    torch.manual_seed(2)
    z0 = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    z, log_det = _reference_flow(model, z0, None, gated=False)
    kl = Normal(mu, (0.5 * logvar).exp()).log_prob(z0).sum(-1) - log_det - Normal(0.0, 1.0).log_prob(z).sum(-1)
    assert loss.item() == pytest.approx((_bce(model.decoder(z), x) + kl).mean().item(), rel=1e-5)


def _vae_loss_on_the_same_networks(model, x, seed):
    vae = create_model("conv-vae", input_shape=SHAPE, latent_dim=3)
    missing, unexpected = vae.load_state_dict(model.state_dict(), strict=False)
    assert not missing and all(k.startswith(("posterior.", "encoder.extra")) for k in unexpected)
    vae.prior.distribution = lambda: None  # the Monte-Carlo KL log q(z) - log p(z), as the flow's
    vae.prior.kl = lambda q, z=None: None  # (no closed form either)
    torch.manual_seed(seed)
    return vae.loss(x)[0]


@pytest.mark.parametrize("update", ["gated", "affine"])
def test_identity_steps_give_the_vae_exactly(update):
    model, x = _model(update=update), _batch()
    with torch.no_grad():
        for made in model.posterior.steps:
            made.out.weight.zero_()
            made.out.bias.zero_()
            if update == "gated":
                made.out.bias[3:].fill_(1e4)  # sigmoid(s) == 1 exactly: z <- z, log sigmoid(s) == 0
    torch.manual_seed(3)
    flow_loss, _ = model.loss(x)
    assert flow_loss.item() == _vae_loss_on_the_same_networks(model, x, seed=3).item()


@pytest.mark.parametrize("update", ["gated", "affine"])
def test_log_det_is_autograds_jacobian_log_det(update):
    model = _model(update=update, flow_steps=3, made_hidden=(8, 8)).double()
    with torch.no_grad():
        for p in model.posterior.parameters():
            p.normal_(0, 0.5)
    q = model.infer(_batch(2).double())
    for i in range(2):
        def one(z0):
            rows = q.base.mu.detach().clone()
            rows[i] = z0
            return q.flow(rows)[0][i]

        z0 = q.base.mu[i].detach() + 0.3
        jac = torch.autograd.functional.jacobian(one, z0)
        rows = q.base.mu.detach().clone()
        rows[i] = z0
        sign, log_abs = torch.linalg.slogdet(jac)
        assert sign.item() == 1.0
        assert q.flow(rows)[1][i].item() == pytest.approx(log_abs.item(), abs=1e-10)


def test_one_step_is_autoregressive():
    model = _model(flow_steps=1, made_hidden=(8, 8), context=0).double()
    with torch.no_grad():
        for p in model.posterior.parameters():
            p.normal_(0, 0.5)
    made, z = model.posterior.steps[0], torch.randn(3, dtype=torch.float64)
    for output in (0, 1):  # m and s: output i reads inputs < i only (strictly lower triangular)
        jac = torch.autograd.functional.jacobian(lambda v: made(v[None])[output][0], z)
        assert torch.equal(torch.triu(jac), torch.zeros(3, 3, dtype=torch.float64)) and (jac != 0).any()
    q = model.infer(_batch(1).double())
    jac = torch.autograd.functional.jacobian(lambda z: q.flow(z[None])[0][0], q.base.mu[0].detach())
    reversed_order = jac.flip(0).flip(1)  # step 0 reads the dims reversed: triangular in that order
    assert torch.equal(torch.triu(reversed_order, 1), torch.zeros(3, 3, dtype=torch.float64))
    assert (reversed_order.diagonal() != 0).all() and (torch.tril(reversed_order, -1) != 0).any()


def test_a_one_dimensional_latent_works():
    model = create_model("iaf-vae", input_shape=SHAPE, latent_dim=1)
    loss, _ = model.loss(_batch())
    assert torch.isfinite(loss)


def test_log_prob_is_known_at_the_flows_own_draws_only():
    model, x = _model(), _batch()
    q = model.infer(x)
    z = q.sample(2)
    assert q.log_prob(z).shape == (2, len(x))
    with pytest.raises(ValueError, match="own draws"):
        q.log_prob(z.clone())


def test_evaluator_scores_the_flowed_density_at_its_draws():
    model, x = _model(), _batch(5)
    with torch.no_grad():
        for p in model.posterior.parameters():
            p.normal_(0, 0.3)
    k = 6
    metrics = Evaluator(elbo_samples=k, iw_samples=k, seed=0).evaluate(model, x)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)  # the Evaluator's draws: ELBO first, then the IW bound
        mu, logvar, h = model.encoder(x)
        std = (0.5 * logvar).exp()
        z01 = mu + torch.randn((k, *mu.shape), generator=g) * std
        z02 = mu + torch.randn((k, *mu.shape), generator=g) * std

        def log_q_and_z(z0):
            z, log_det = _reference_flow(model, z0, h)
            return Normal(mu, std).log_prob(z0).sum(-1) - log_det, z

        log_q1, z1 = log_q_and_z(z01)
        log_q2, z2 = log_q_and_z(z02)
        log_p = lambda z: Normal(0.0, 1.0).log_prob(z).sum(-1)  # noqa: E731
        decode = lambda z: model.decoder(z.flatten(0, 1)).unflatten(0, (k, -1))  # noqa: E731
        kl = (log_q1 - log_p(z1)).mean(0)
        log_w = -_bce(decode(z2), x) + log_p(z2) - log_q2
        iw_nll = -(torch.logsumexp(log_w, 0) - math.log(k))
    assert metrics["posterior"] == "flow" and "not_applicable" not in metrics
    assert metrics["kl"] == pytest.approx(kl.mean().item(), rel=1e-4)
    assert metrics["neg_elbo"] == pytest.approx((_bce(decode(z1), x).mean(0) + kl).mean().item(), rel=1e-4)
    assert metrics["iw_nll"] == pytest.approx(iw_nll.mean().item(), rel=1e-4)


def test_the_code_is_the_flow_at_the_base_mean():
    model, x = _model(), _batch()
    mu, _, h = model.encoder(x)
    assert torch.allclose(model.encode(x), _reference_flow(model, mu, h)[0].detach(), atol=1e-6)


def test_bad_hyperparameters_are_refused():
    with pytest.raises(ValueError, match="update must be one of 'gated', 'affine'"):
        _model(update="sigmoid")
    with pytest.raises(ValueError, match="made_hidden must be one or more layer widths"):
        _model(made_hidden=())


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
