"""hamiltonian-vae: the augmented-space ELBO and its gradient (through the leapfrog's own gradients) against a
plain-torch leapfrog, the flow's Jacobian determinant (d/2) log beta0, zero steps or zero step sizes giving the VAE,
and the Evaluator's bounds on the augmented space."""
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import loss_before_and_after_steps

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator

SHAPE, D = (1, 8, 8), 3


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("hamiltonian-vae", input_shape=SHAPE, latent_dim=D, **hyper)


def _batch(n=6):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _log_px(model, z, x):
    logits = model.decoder(z.reshape(-1, D)).reshape(*z.shape[:-1], *SHAPE)
    return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum((-3, -2, -1))


def _reference_elbo(model, x, e0, g0, create_graph=True):
    """Caterini et al.'s per-draw bound: log p(x|z_K) - |z_K|^2/2 - |rho_K|^2/2 + sum log sigma + |e0|^2/2 + |g0|^2/2,
    with K leapfrog steps of U(z) = -log p(x|z) + |z|^2/2 and the quadratic tempering schedule."""
    mu, logvar = model.encoder(x)
    sigma = (0.5 * logvar).exp()
    eps = 0.5 * torch.sigmoid(model.posterior.step_logit)
    k_steps = model.posterior.n_steps
    beta0 = torch.sigmoid(model.posterior.beta0_logit) if model.posterior.tempered else torch.tensor(1.0)

    def grad_u(z):
        if not z.requires_grad:
            z.requires_grad_(True)
        u = -(_log_px(model, z, x) - 0.5 * (z ** 2).sum(-1)).sum()
        return torch.autograd.grad(u, z, create_graph=create_graph)[0]

    z, rho = mu + sigma * e0, g0 / beta0.sqrt()
    for k in range(1, k_steps + 1):
        rho_half = rho - eps / 2 * grad_u(z)
        z = z + eps * rho_half
        rho = rho_half - eps / 2 * grad_u(z)
        inv_root = lambda j: (1 - 1 / beta0.sqrt()) * j ** 2 / k_steps ** 2 + 1 / beta0.sqrt()  # noqa: E731
        rho = rho * inv_root(k) / inv_root(k - 1)
    return (_log_px(model, z, x) - 0.5 * (z ** 2).sum(-1) - 0.5 * (rho ** 2).sum(-1) + sigma.log().sum(-1)
            + 0.5 * (e0 ** 2).sum(-1) + 0.5 * (g0 ** 2).sum(-1))


def _trained_a_little(**hyper):
    model, x = _model(**hyper), _batch()
    with torch.no_grad():
        model.posterior.step_logit.fill_(0.0)  # step sizes 0.25: the flow moves the draws visibly
    return model, x


def test_loss_and_its_gradient_are_the_papers_on_a_fixed_batch():
    model, x = _trained_a_little()
    assert (model.posterior.n_steps, model.posterior.tempered) == (3, True)
    params = [model.posterior.step_logit, model.posterior.beta0_logit, model.decoder.fc.weight, model.encoder.mu.weight]
    torch.manual_seed(4)
    loss, parts = model.loss(x)
    grads = torch.autograd.grad(loss, params)
    torch.manual_seed(4)
    e0, g0 = torch.randn(len(x), D), torch.randn(len(x), D)  # the base draw first, then the momentum
    ref = -_reference_elbo(model, x, e0, g0).mean()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    for got, want in zip(grads, torch.autograd.grad(ref, params)):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)
    first_order = -_reference_elbo(model, x, e0, g0, create_graph=False).mean()  # pythae's: dU/dz held constant
    decoder_grad = torch.autograd.grad(first_order, [model.decoder.fc.weight])[0]
    assert not torch.allclose(grads[2], decoder_grad, rtol=1e-3, atol=1e-5)


def test_the_flow_has_the_log_det_of_its_tempering():
    model, x = _trained_a_little()
    model = model.double()
    q = model.infer(x[:1].double())
    beta0 = torch.sigmoid(model.posterior.beta0_logit).item()

    def flow(v):  # (z0, rho0) -> (z_K, rho_K) for one image
        z, rho = q.flow(v[None, :D], math.sqrt(beta0) * v[None, D:])
        return torch.cat([z[0], rho[0]])

    v = torch.cat([q.base.mu[0].detach(), torch.randn(D, dtype=torch.float64)])
    sign, log_det = torch.linalg.slogdet(torch.autograd.functional.jacobian(flow, v))
    assert sign.item() == 1.0 and log_det.item() == pytest.approx(D / 2 * math.log(beta0), abs=1e-9)


def _vae_loss_on_the_same_networks(model, x, seed):
    vae = create_model("conv-vae", input_shape=SHAPE, latent_dim=D)
    missing, unexpected = vae.load_state_dict(model.state_dict(), strict=False)
    assert not missing and all(k.startswith("posterior.") for k in unexpected)
    vae.prior.distribution = lambda: None  # the Monte-Carlo KL on the drawn z, as the augmented bound's
    vae.prior.kl = lambda q, z=None: None  # (no closed form either)
    torch.manual_seed(seed)
    return vae.loss(x)[0]


@pytest.mark.parametrize("hyper", [{"leapfrog_steps": 0}, {"beta0": 1.0}])
def test_no_steps_or_zero_step_sizes_give_the_vae(hyper):
    model, x = _model(**hyper), _batch()
    with torch.no_grad():
        model.posterior.step_logit.fill_(-1e4)  # step sizes exactly 0: z_K = z0, rho_K = gamma0
    torch.manual_seed(3)
    loss, _ = model.loss(x)
    assert loss.item() == pytest.approx(_vae_loss_on_the_same_networks(model, x, 3).item(), abs=1e-5)


def test_evaluator_scores_the_augmented_bound_at_its_draws_without_touching_gradients():
    model, x = _trained_a_little()
    x = x[:5]
    k = 4
    metrics = Evaluator(elbo_samples=k, iw_samples=k, seed=0).evaluate(model, x)
    assert all(p.grad is None for p in model.parameters())
    with torch.no_grad():  # evaluation keeps no graph of the flow's own gradients
        assert not model.infer(x).sample(2).requires_grad
    g = torch.Generator().manual_seed(0)  # the Evaluator's: ELBO draws first, then the IW bound's; z0 before gamma0
    draws = [(torch.randn(k, len(x), D, generator=g), torch.randn(k, len(x), D, generator=g)) for _ in range(2)]
    elbo, log_w = (_reference_elbo(model, x, e0, g0, create_graph=False).detach() for e0, g0 in draws)
    iw_nll = -(torch.logsumexp(log_w, 0) - math.log(k))
    assert metrics["posterior"] == "flow" and "not_applicable" not in metrics
    assert metrics["bound"].startswith("the augmented space (z, momentum)")
    assert metrics["neg_elbo"] == pytest.approx(-elbo.mean().item(), rel=1e-5)
    assert metrics["iw_nll"] == pytest.approx(iw_nll.mean().item(), rel=1e-5)


def test_the_code_is_the_flow_at_the_base_mean():
    model, x = _trained_a_little()
    mu, _ = model.encoder(x)
    q = model.infer(x)
    assert torch.allclose(model.encode(x), q.flow(mu, torch.zeros_like(mu))[0].detach())
    assert not torch.allclose(model.encode(x), mu.detach(), atol=1e-3)  # the steps moved it


def test_bad_hyperparameters_are_refused():
    with pytest.raises(ValueError, match="step_size must be a number strictly between 0 and 0.5"):
        _model(step_size=0.5)
    with pytest.raises(ValueError, match=r"beta0 must be a number in \(0, 1\]"):
        _model(beta0=0.0)


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch()
    before, after = loss_before_and_after_steps(model, x, steps=20)
    assert after < before - 1


def test_compiling_is_refused_in_one_line(zoo):
    result = zoo("train", "hamiltonian-vae", "--epochs", 1, "--compile", "--set", "channels=8")
    assert result.exit_code == 1
    assert "--compile: hamiltonian-vae differentiates its loss through the decoder's own gradients" in result.output
    assert "Traceback" not in result.output
