"""The KL term against numerical references; beta scales it; corruptions do what they say."""
import math

import pytest
import torch

from aezoo.core.corruptions import BlockMask, GaussianNoise, PixelDropout, SaltAndPepper, make_corruption
from aezoo.core.interfaces import Step
from aezoo.core.likelihoods import Bernoulli, Gaussian, make_likelihood
from aezoo.core.objectives import gaussian_kl, imq_mmd, iw_bound, kl_to_prior
from aezoo.core.posteriors import GaussianQ
from aezoo.core.priors import StandardNormal


def test_kl_matches_numerical_integration():
    mu, logvar = 0.7, -0.4
    sigma = math.exp(0.5 * logvar)
    z = torch.linspace(-12, 12, 200001, dtype=torch.float64)
    q = torch.exp(-0.5 * ((z - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    p = torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    numeric = torch.trapezoid(q * (torch.log(q) - torch.log(p)), z).item()
    closed = gaussian_kl(torch.tensor([[mu]]), torch.tensor([[logvar]])).item()
    assert closed == pytest.approx(numeric, rel=1e-5)


def test_kl_matches_torch_distributions_in_several_dimensions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 7), torch.randn(5, 7)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref = torch.distributions.kl_divergence(q, p).sum(1)
    assert torch.allclose(gaussian_kl(mu, logvar), ref, atol=1e-5)


def _vae(beta: float, warmup: int = 0):
    import aezoo

    torch.manual_seed(0)
    return aezoo.create_model("vae", input_shape=(1, 3, 3), latent_dim=2, hidden=(4,), beta=beta, warmup=warmup)


def test_beta_scales_the_kl_term():
    x = torch.rand(4, 1, 3, 3)
    losses = {}
    for beta in (1.0, 4.0):
        model = _vae(beta)
        torch.manual_seed(1)  # the same posterior draw for both
        losses[beta] = model.loss(x)
    (l1, parts1), (l4, parts4) = losses[1.0], losses[4.0]
    assert parts1["kl"] > 0
    assert torch.allclose(l4 - l1, 3 * parts1["kl"])
    assert torch.allclose(l1, parts1["reconstruction"] + parts1["kl"])
    assert torch.equal(parts1["kl"], parts4["kl"])


def test_kl_warmup_ramps_the_weight():
    model, x = _vae(1.0, warmup=10), torch.rand(4, 1, 3, 3)
    for step, weight in ((0, 0.0), (5, 0.5), (10, 1.0), (50, 1.0)):
        torch.manual_seed(1)
        loss, parts = model.loss(x, Step(step=step, total=100))
        assert loss.item() == pytest.approx((parts["reconstruction"] + weight * parts["kl"]).item(), rel=1e-6)


def test_monte_carlo_kl_agrees_with_the_closed_form():
    torch.manual_seed(0)
    q = GaussianQ(torch.randn(3, 4), torch.randn(3, 4) * 0.3)
    prior = StandardNormal(4)

    class NoClosedForm(StandardNormal):
        def distribution(self):
            return None

    closed = kl_to_prior(q, prior)
    mc = kl_to_prior(q, NoClosedForm(4), q.sample(20000))
    assert torch.allclose(closed, gaussian_kl(q.mu, q.logvar), atol=1e-5)
    assert torch.allclose(mc, closed, atol=0.05)


def test_iw_bound_with_one_sample_is_the_elbo_term():
    log_px, log_pz, log_qz = torch.randn(1, 5), torch.randn(1, 5), torch.randn(1, 5)
    assert torch.allclose(iw_bound(log_px, log_pz, log_qz), (log_px + log_pz - log_qz)[0])
    many = torch.randn(7, 5)
    assert torch.allclose(iw_bound(many, torch.zeros(7, 5), torch.zeros(7, 5)),
                          torch.log(many.exp().mean(0)), atol=1e-6)


def test_mmd_is_small_for_the_same_distribution_and_large_for_another():
    torch.manual_seed(0)
    same = imq_mmd(torch.randn(200, 4), torch.randn(200, 4))
    shifted = imq_mmd(torch.randn(200, 4), torch.randn(200, 4) + 2)
    assert abs(same.item()) < 0.05 and shifted.item() > 10 * abs(same.item())


def test_likelihoods_on_a_known_case():
    x = torch.tensor([[[[1.0, 0.0]]]])
    logits = torch.tensor([[[[0.0, 0.0]]]])  # sigmoid 0.5 everywhere
    assert Bernoulli().log_prob(logits, x).item() == pytest.approx(-2 * math.log(2))
    # the default Gaussian: sigma = 1/sqrt(2), so -log p = squared error + 0.5 log(pi) per pixel
    gauss = Gaussian((1, 1, 2))
    assert -gauss.log_prob(logits, x).item() == pytest.approx(0.5 + 2 * 0.5 * math.log(math.pi))
    sigma = Gaussian((1, 1, 2), sigma=0.1)
    ref = -torch.distributions.Normal(0.5, 0.1).log_prob(x).sum()
    assert -sigma.log_prob(logits, x).item() == pytest.approx(ref.item(), rel=1e-6)


def test_unknown_likelihood_is_refused():
    with pytest.raises(ValueError, match="bernoulli"):
        make_likelihood("poisson", (1, 2, 2))


def test_corruptions():
    torch.manual_seed(0)
    x = torch.full((8, 1, 10, 10), 0.5)
    noisy = GaussianNoise(0.2)(x)
    assert noisy.min() >= 0 and noisy.max() <= 1 and (noisy - x).std() == pytest.approx(0.2, rel=0.15)
    sp = SaltAndPepper(0.4)(x)
    changed = (sp != x).float().mean().item()
    assert changed == pytest.approx(0.4, abs=0.08) and set(sp.unique().tolist()) == {0.0, 0.5, 1.0}
    dropped = PixelDropout(0.5)(torch.ones(8, 3, 10, 10))
    assert (dropped == 0).float().mean().item() == pytest.approx(0.5, abs=0.08)
    assert torch.equal(dropped[:, 0], dropped[:, 1])  # whole pixels, all channels together
    blocked = BlockMask(0.4)(torch.ones(8, 1, 10, 10))
    assert ((blocked == 0).flatten(1).sum(1) == 16).all()  # one 4x4 block per image
    with pytest.raises(ValueError, match="gaussian"):
        make_corruption("fog", 0.1)


@pytest.mark.parametrize("likelihood", [Bernoulli(), Gaussian((2, 5, 5)), Gaussian((2, 5, 5), sigma=0.3),
                                        Gaussian((2, 5, 5), learned=True)])
def test_batch_loss_is_the_mean_of_the_per_image_errors(likelihood):
    torch.manual_seed(0)
    logits, x = torch.randn(6, 2, 5, 5), torch.rand(6, 2, 5, 5)
    per_image = -likelihood.log_prob(logits, x)
    assert per_image.shape == (6,)
    assert likelihood.nll(logits, x).item() == pytest.approx(per_image.mean().item(), rel=1e-5)


def test_the_standard_normals_closed_form_kl_is_torch_distributions_kl():
    torch.manual_seed(0)
    q = GaussianQ(torch.randn(6, 4), torch.randn(6, 4))
    prior = StandardNormal(4)
    expected = torch.distributions.kl_divergence(q.distribution(), prior.distribution())
    assert torch.allclose(prior.kl(q), expected, rtol=1e-5, atol=1e-6) and prior.kl(q).shape == (6,)
    assert torch.allclose(kl_to_prior(q, prior), expected, rtol=1e-5, atol=1e-6)  # the training path takes it
    low = GaussianQ(q.mu.bfloat16(), q.logvar.bfloat16())
    assert prior.kl(low).dtype == torch.float32  # summed in float32 under bf16, as the plain loop does

    class Flowed(GaussianQ):  # a posterior built on the Gaussian (a flow, a hierarchy): not this closed form
        pass

    assert prior.kl(Flowed(q.mu, q.logvar)) is None
