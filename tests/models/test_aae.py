"""aae (Makhzani et al. 2016): reconstruction + a generator loss pushing the codes towards N(0, I), judged by a
discriminator (prior draws real, codes fake) that trains with its own optimiser."""
import math

import pytest
import torch
from helpers import assert_discriminator_isolation, assert_trainer_updates_every_optimizer, digits_splits

import aezoo
from aezoo.core.evaluator import NO_POSTERIOR_DENSITY, Evaluator

SMALL = dict(latent_dim=4, channels=(8, 16), disc_hidden=(16,))



@pytest.fixture(scope="module")
def splits():
    return digits_splits()


def test_loss_matches_an_independent_computation_on_a_fixed_batch(splits):
    torch.manual_seed(0)
    model = aezoo.create_model("aae", input_shape=(1, 8, 8), **SMALL, adversarial_weight=2.5)
    x = splits.train.floats()[:32]
    torch.manual_seed(1)
    loss, parts = model.loss(x)

    torch.manual_seed(1)
    with torch.no_grad():
        z = model.encoder(x)  # a deterministic code
        p = torch.sigmoid(model.decoder(z)).flatten(1)
        rec = -(x.flatten(1) * torch.log(p) + (1 - x.flatten(1)) * torch.log(1 - p)).sum(1).mean()
        d_prior = torch.sigmoid(model.aux["discriminator"](torch.randn(32, 4)))  # P(real) for prior draws
        d_code = torch.sigmoid(model.aux["discriminator"](z))
        generator = -torch.log(d_code).mean()  # the encoder wants its codes taken for prior draws
        d_loss = -0.5 * (torch.log(d_prior).mean() + torch.log(1 - d_code).mean())
    assert parts["reconstruction"].item() == pytest.approx(rec.item(), rel=1e-4)
    assert parts["adversarial"].item() == pytest.approx(generator.item(), rel=1e-4)
    assert parts["discriminator"].item() == pytest.approx(d_loss.item(), rel=1e-4)
    assert loss.item() == pytest.approx((rec + 2.5 * generator).item(), rel=1e-4)


def test_each_loss_trains_only_its_own_network(splits):
    torch.manual_seed(0)
    model = aezoo.create_model("aae", input_shape=(1, 8, 8), **SMALL)
    assert_discriminator_isolation(model, splits.train.floats()[:32], "adversarial")


def test_capabilities_a_deterministic_code_sampled_from_the_prior():
    model = aezoo.create_model("aae", input_shape=(1, 8, 8))
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.aux, caps.prior_title) == ("point", "prior", ("discriminator",),
                                                                          "the prior N(0, I)")
    assert model.sample(3).shape == (3, 1, 8, 8)  # the prior is what training pulled the codes towards
    assert model.aux_optimizers["discriminator"] == {"optimizer": "adam", "lr": 1e-4}
    assert aezoo.model_spec("aae").family == "aae"
    with pytest.raises(ValueError, match="adversarial_weight"):
        aezoo.create_model("aae", input_shape=(1, 8, 8), adversarial_weight=float("nan"))


def test_evaluation_leaves_out_the_likelihood_bounds_with_a_reason_and_reports_mmd(splits):
    torch.manual_seed(0)
    model = aezoo.create_model("aae", input_shape=(1, 8, 8), **SMALL)
    metrics = Evaluator(iw_samples=5).evaluate(model, splits.test.images[:40])
    assert metrics["not_applicable"] == {k: NO_POSTERIOR_DENSITY for k in ("kl", "neg_elbo", "iw_nll")}
    assert not {"kl", "neg_elbo", "iw_nll"} & set(metrics)
    assert math.isfinite(metrics["mmd"]) and metrics["mmd"] > 0


def test_the_mmd_metric_is_near_zero_for_prior_like_codes_and_large_for_shifted_ones(splits):
    model = aezoo.create_model("aae", input_shape=(1, 8, 8), **SMALL)
    x = torch.zeros(200, 1, 8, 8)

    class Codes:
        def __init__(self, z):
            self.mean = z

    g = torch.Generator().manual_seed(5)
    near = model.eval_metrics(x, Codes(torch.randn(200, 4, generator=g)))["mmd"].item()
    far = model.eval_metrics(x, Codes(torch.randn(200, 4, generator=g) + 2))["mmd"].item()
    assert abs(near) < 0.05 < far


def test_a_trainer_epoch_steps_the_model_and_the_discriminator_each_with_its_optimiser(splits):
    trainer = assert_trainer_updates_every_optimizer("aae", splits, **SMALL)
    assert trainer.optimizers["discriminator"].param_groups[0]["lr"] == pytest.approx(1e-4)


def test_a_few_steps_lower_the_loss(splits):
    torch.manual_seed(0)
    model = aezoo.create_model("aae", input_shape=(1, 8, 8), **SMALL)
    x = splits.train.floats()[:64]
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    first = None
    for _ in range(30):
        loss, parts = model.loss(x)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        (loss + parts["discriminator"]).backward()
        opt.step()
    assert loss.item() < first - 5
