"""wae-mmd: the IMQ MMD and the loss against plain-torch references, capabilities and evaluation."""
import pytest
import torch
import torch.nn.functional as F

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.objectives import imq_mmd

SHAPE = (1, 8, 8)
SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def reference_mmd(a, b, var=1.0):
    """Tolstikhin et al. 2018, Algorithm 2: unbiased MMD^2 with k = sum_s C_s / (C_s + |x - y|^2), C_s = 2 d var s."""
    def k(x, y):
        sq = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
        return sum(2 * a.shape[1] * var * s / (2 * a.shape[1] * var * s + sq) for s in SCALES)

    n, m = len(a), len(b)
    kaa, kbb = k(a, a), k(b, b)
    within_a = (kaa.sum() - kaa.trace()) / (n * (n - 1))
    within_b = (kbb.sum() - kbb.trace()) / (m * (m - 1))
    return within_a + within_b - 2 * k(a, b).sum() / (n * m)


def test_imq_mmd_matches_the_paper_for_unequal_sample_sizes():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(9, 3, generator=g, dtype=torch.float64) + 0.5
    assert imq_mmd(a, b).item() == pytest.approx(reference_mmd(a, b).item(), rel=1e-9)
    assert imq_mmd(a, b, scale=2.0).item() == pytest.approx(reference_mmd(a, b, 2.0).item(), rel=1e-9)
    with pytest.raises(ValueError, match="at least 2 samples"):
        imq_mmd(a[:1], b)


def test_loss_matches_reconstruction_plus_weighted_mmd_to_prior_draws():
    torch.manual_seed(0)
    model = create_model("wae-mmd", input_shape=SHAPE, reg_weight=3.0)
    x = torch.rand(16, *SHAPE, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    loss, parts = model.loss(x)
    torch.manual_seed(5)
    draws = torch.randn(16, 16)  # the objective's prior draws, from the same seed
    z = model.encoder(x)
    rec = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="sum") / 16
    assert loss.item() == pytest.approx((rec + 3.0 * reference_mmd(z, draws)).item(), rel=1e-5)
    assert parts["mmd"].item() == pytest.approx(reference_mmd(z, draws).item(), rel=1e-5)


def test_capabilities_and_evaluation_report_mmd_and_no_likelihood_bound():
    torch.manual_seed(0)
    model = create_model("wae-mmd", input_shape=SHAPE)
    caps = model.capabilities
    assert (caps.posterior, caps.posterior_density, caps.sampler) == ("point", False, "prior")
    x = torch.rand(40, *SHAPE, generator=torch.Generator().manual_seed(2))
    r = Evaluator().evaluate(model, x)
    assert not {"kl", "neg_elbo", "iw_nll"} & set(r)
    assert set(r["not_applicable"]) == {"kl", "neg_elbo", "iw_nll"}
    assert all("deterministic" in why for why in r["not_applicable"].values())
    draws = torch.randn(40, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert r["mmd"] == pytest.approx(reference_mmd(model.encode(x), draws).item(), rel=1e-4)


def test_training_pulls_the_codes_towards_the_prior():
    from sklearn.datasets import load_digits

    x = torch.from_numpy(load_digits().images[:64]).float().div(16).unsqueeze(1)
    torch.manual_seed(0)
    model = create_model("wae-mmd", input_shape=SHAPE, reg_weight=100.0)
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    first = model.loss(x)[1]["mmd"].item()
    for _ in range(20):
        loss, _ = model.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.loss(x)[1]["mmd"].item() < first / 2
