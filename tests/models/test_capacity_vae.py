"""capacity-vae (Burgess et al. 2018): -log p(x|z) + gamma |KL - C| per image, C raised linearly to its maximum;
against a plain-torch reference, the schedule, and C = 0 with gamma = beta being the beta-VAE."""
import pytest
import torch
from helpers import digits_splits, loss_before_and_after_steps

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.interfaces import DONE, Step
from aezoo.core.objectives import ELBO
from aezoo.core.trainer import TrainConfig, Trainer
from aezoo.models.capacity_vae import CapacityLoss

SHAPE = (1, 8, 8)



def _model(**hyper):
    torch.manual_seed(0)
    model = create_model("capacity-vae", input_shape=SHAPE, latent_dim=3, channels=(8, 16), **hyper)
    with torch.no_grad():
        model.encoder.mu.weight.mul_(20)  # per-image KLs of a few nats, spread out
    return model


def _batch(n=16):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _kl_and_rec(model, x, seed):
    mu, logvar = model.encoder(x)
    torch.manual_seed(seed)
    z = mu + torch.randn(mu.shape) * torch.exp(0.5 * logvar)
    p = torch.sigmoid(model.decoder(z)).flatten(1)
    t = x.flatten(1)
    rec = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).sum(1)
    kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).sum(1)
    return kl, rec


def test_loss_takes_the_absolute_difference_per_image_on_a_fixed_batch():
    model, x = _model(gamma=7.0, capacity=8.0, capacity_steps=100), _batch()
    kl, rec = _kl_and_rec(model, x, seed=3)
    c = kl.median().item()  # a capacity the images' KLs straddle
    model.objective.capacity = 2 * c  # C at step 50 of 100 is half of it
    torch.manual_seed(3)
    loss, parts = model.objective(model, _batch_of(x), Step(50, 0, 1000))
    assert parts["capacity"].item() == pytest.approx(c)
    assert loss.item() == pytest.approx((rec + 7.0 * (kl - c).abs()).mean().item(), rel=1e-5)
    batch_mean_abs = (rec.mean() + 7.0 * (kl.mean() - c).abs()).item()  # the other placement, not this model's
    assert abs(loss.item() - batch_mean_abs) > 0.1


def _batch_of(x):
    from aezoo.core.interfaces import Batch

    return Batch(x, x)


def test_capacity_rises_linearly_to_its_maximum_then_stays():
    objective = CapacityLoss(gamma=1.0, capacity=10.0, capacity_steps=200)
    assert [objective.target(Step(t, 0, 1000)) for t in (0, 50, 200, 900)] == [0.0, 2.5, 10.0, 10.0]
    assert objective.target(DONE) == 10.0  # outside training: the final capacity
    assert CapacityLoss(capacity=10.0, capacity_steps=0).target(Step(0, 0, 1000)) == 10.0  # no annealing


def test_zero_capacity_with_gamma_beta_is_the_beta_vae_on_the_same_draws():
    model, x = _model(gamma=4.0, capacity=0.0), _batch()
    torch.manual_seed(3)
    capacity, _ = model.loss(x)
    model.objective = ELBO(beta=4.0)
    torch.manual_seed(3)
    beta_vae, _ = model.loss(x)
    assert capacity.item() == pytest.approx(beta_vae.item(), rel=1e-6)


def test_the_trainer_steps_the_capacity_up_over_training():
    splits = digits_splits()
    torch.manual_seed(0)
    model = create_model("capacity-vae", input_shape=SHAPE, latent_dim=3, channels=(8,), capacity=5.0,
                         capacity_steps=6)
    history = Trainer(model, splits, TrainConfig(epochs=2, batch_size=256)).fit().history
    # 6 steps an epoch, C = 0, 5/6, ..., 25/6 in the first (logs average over images: the last batch is short),
    # then 5 throughout the second
    sizes = [256] * 5 + [len(splits.train) - 5 * 256]
    first = sum(size * 5.0 * step / 6 for step, size in enumerate(sizes)) / len(splits.train)
    assert history[0]["train_capacity"] == pytest.approx(first)
    assert history[1]["train_capacity"] == pytest.approx(5.0)


def test_defaults_and_evaluation_of_the_plain_elbo():
    model = create_model("capacity-vae", input_shape=SHAPE)
    o = model.objective
    assert (o.gamma, o.capacity, o.capacity_steps, o.diagnostics) == (10.0, 5.0, 2000, ("capacity",))
    metrics = Evaluator(iw_samples=20).evaluate(_model(), _batch())
    assert "not_applicable" not in metrics and metrics["kl"] > 0


def test_a_few_steps_lower_the_loss():
    model, x = _model(capacity=0.0), _batch(64)
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
