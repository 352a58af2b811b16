"""The KL term against numerical references; beta scales it; corruptions do what they say."""
import math

import pytest
import torch

from aezoo.core.corruptions import BlockMask, GaussianNoise, PixelDropout, SaltAndPepper, make_corruption
from aezoo.core.interfaces import Output
from aezoo.core.objectives import ELBO, Reconstruction, gaussian_kl, reconstruction_error


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


def test_beta_scales_the_kl_term():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 3, 3)
    out = Output(logits=torch.randn(4, 1, 3, 3), z=torch.zeros(4, 2), mu=torch.randn(4, 2), logvar=torch.randn(4, 2))
    l1, parts1 = ELBO(beta=1.0)(x, out)
    l4, parts4 = ELBO(beta=4.0)(x, out)
    assert torch.allclose(l4 - l1, 3 * parts1["kl"])
    assert torch.allclose(l1, parts1["reconstruction"] + parts1["kl"])
    assert torch.equal(parts1["kl"], parts4["kl"])


def test_reconstruction_losses_on_a_known_case():
    x = torch.tensor([[[[1.0, 0.0]]]])
    logits = torch.tensor([[[[0.0, 0.0]]]])  # sigmoid 0.5 everywhere
    assert reconstruction_error(logits, x, "bernoulli").item() == pytest.approx(2 * math.log(2))
    assert reconstruction_error(logits, x, "gaussian").item() == pytest.approx(0.5)
    out = Output(logits=logits, z=torch.zeros(1, 1), mu=torch.zeros(1, 1))
    loss, parts = Reconstruction("gaussian")(x, out)
    assert loss.item() == pytest.approx(0.5) and set(parts) == {"reconstruction"}


def test_unknown_likelihood_is_refused():
    with pytest.raises(ValueError, match="bernoulli"):
        Reconstruction("poisson")


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


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_batch_loss_is_the_mean_of_the_per_image_errors(likelihood):
    from aezoo.core.objectives import batch_reconstruction_error

    torch.manual_seed(0)
    logits, x = torch.randn(6, 2, 5, 5), torch.rand(6, 2, 5, 5)
    per_image = reconstruction_error(logits, x, likelihood)
    assert per_image.shape == (6,)
    assert batch_reconstruction_error(logits, x, likelihood).item() == pytest.approx(per_image.mean().item(), rel=1e-6)
