"""factor-vae (Kim & Mnih 2018): -ELBO + gamma x TC, the TC estimated by a discriminator on permuted codes."""
import math

import pytest
import torch
from helpers import assert_discriminator_isolation, assert_trainer_updates_every_optimizer, digits_splits

import aezoo
from aezoo.core.evaluator import Evaluator
from aezoo.models import factor_vae
from aezoo.models.factor_vae import discriminator_loss, permute_dims
from aezoo.nets.discriminators import code_discriminator



@pytest.fixture(scope="module")
def splits():
    return digits_splits()


SMALL = dict(latent_dim=4, channels=(8, 16), disc_hidden=(16,))


def fixed_batch(splits, n=32):
    return splits.train.floats()[:n]


def test_permuted_codes_keep_each_dimension_and_break_the_joint():
    torch.manual_seed(0)
    z = torch.arange(200.0).reshape(100, 2) * torch.tensor([1.0, -1.0])
    p = permute_dims(z)
    for j in range(2):
        assert torch.equal(p[:, j].sort().values, z[:, j].sort().values)  # the marginals are unchanged
    rows = {tuple(r) for r in z.tolist()}
    assert sum(tuple(r) in rows for r in p.tolist()) < 10  # pairs are no longer those of the joint


def test_loss_matches_an_independent_computation_on_a_fixed_batch(splits, monkeypatch):
    shift = lambda z: torch.stack([z[:, j].roll(j + 1) for j in range(z.shape[1])], 1)  # a known "permutation"
    monkeypatch.setattr(factor_vae, "permute_dims", shift)
    torch.manual_seed(0)
    model = aezoo.create_model("factor-vae", input_shape=(1, 8, 8), **SMALL, gamma=3.0)
    x = fixed_batch(splits)
    torch.manual_seed(1)
    loss, parts = model.loss(x)

    torch.manual_seed(1)
    with torch.no_grad():
        mu, logvar = model.encoder(x)
        z = mu + torch.randn(mu.shape) * torch.exp(0.5 * logvar)
        p = torch.sigmoid(model.decoder(z)).flatten(1)
        rec = -(x.flatten(1) * torch.log(p) + (1 - x.flatten(1)) * torch.log(1 - p)).sum(1).mean()
        kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).sum(1).mean()
        d_joint = torch.sigmoid(model.aux["discriminator"](z))  # D(z): the probability that z came from q(z)
        tc = torch.log(d_joint / (1 - d_joint)).mean()
        d_product = torch.sigmoid(model.aux["discriminator"](shift(z)))
        d_loss = -0.5 * (torch.log(d_joint).mean() + torch.log(1 - d_product).mean())
    assert parts["reconstruction"].item() == pytest.approx(rec.item(), rel=1e-4)
    assert parts["kl"].item() == pytest.approx(kl.item(), rel=1e-4)
    assert parts["tc"].item() == pytest.approx(tc.item(), rel=1e-4, abs=1e-6)
    assert parts["discriminator"].item() == pytest.approx(d_loss.item(), rel=1e-4)
    assert loss.item() == pytest.approx((rec + kl + 3.0 * tc).item(), rel=1e-4)


def test_a_trained_discriminator_estimates_the_total_correlation_of_a_known_gaussian():
    """For a 2-D Gaussian with correlation rho, TC = KL(q(z) || q(z1) q(z2)) = -log(1 - rho^2) / 2."""
    rho, g = 0.9, torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    disc = code_discriminator(2, (64, 64))
    opt = torch.optim.Adam(disc.parameters(), 3e-3)
    mix = torch.tensor([[1.0, rho], [0.0, math.sqrt(1 - rho ** 2)]])
    for _ in range(400):
        z = torch.randn(512, 2, generator=g) @ mix
        loss = discriminator_loss(disc, z)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        estimate = disc(torch.randn(20000, 2, generator=g) @ mix).mean().item()
    assert estimate == pytest.approx(-0.5 * math.log(1 - rho ** 2), abs=0.15)  # 0.830 nats


def test_each_loss_trains_only_its_own_network(splits):
    torch.manual_seed(0)
    model = aezoo.create_model("factor-vae", input_shape=(1, 8, 8), **SMALL)
    assert_discriminator_isolation(model, fixed_batch(splits), "tc")


def test_capabilities_and_the_discriminator_optimiser_of_the_paper():
    model = aezoo.create_model("factor-vae", input_shape=(1, 8, 8))
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.aux, caps.likelihood_bound) == ("gaussian", "prior",
                                                                               ("discriminator",), True)
    assert model.aux_optimizers["discriminator"] == {"optimizer": "adam", "lr": 1e-4, "betas": (0.5, 0.9)}
    assert model.objective.gamma == 2.0 and aezoo.model_spec("factor-vae").family == "vae"
    with pytest.raises(ValueError, match="gamma"):
        aezoo.create_model("factor-vae", input_shape=(1, 8, 8), gamma=-1.0)


def test_evaluation_reports_the_likelihood_metrics_and_the_discriminator_tc(splits):
    torch.manual_seed(0)
    model = aezoo.create_model("factor-vae", input_shape=(1, 8, 8), **SMALL)
    metrics = Evaluator(iw_samples=5).evaluate(model, splits.test.images[:40])
    assert "not_applicable" not in metrics
    for key in ("kl", "neg_elbo", "iw_nll", "discriminator_tc"):
        assert math.isfinite(metrics[key]), key
    with torch.no_grad():
        q = model.infer(splits.test.floats()[:40])
        z = q.sample(generator=torch.Generator().manual_seed(0))
        assert metrics["discriminator_tc"] == pytest.approx(model.aux["discriminator"](z).mean().item(), rel=1e-5)


def test_a_trainer_epoch_steps_the_model_and_the_discriminator_each_with_its_optimiser(splits):
    trainer = assert_trainer_updates_every_optimizer("factor-vae", splits, **SMALL)
    disc = trainer.optimizers["discriminator"].param_groups[0]
    assert disc["betas"] == (0.5, 0.9) and disc["lr"] == pytest.approx(1e-4)
    assert trainer.optimizers["model"].param_groups[0]["lr"] == pytest.approx(2e-3)


def test_a_few_steps_lower_the_loss(splits):
    torch.manual_seed(0)
    model = aezoo.create_model("factor-vae", input_shape=(1, 8, 8), **SMALL)
    x = fixed_batch(splits, 64)
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    first = None
    for _ in range(30):
        loss, parts = model.loss(x)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        (loss + parts["discriminator"]).backward()
        opt.step()
    assert loss.item() < first - 5
