"""The Trainer's handling of auxiliary networks (a discriminator): refused when nothing trains them, their own
optimiser settings checked, their loss watched by the NaN guard."""
import pytest
import torch
from helpers import digits_splits, one_thread

import aezoo
from aezoo.core.trainer import TrainConfig, Trainer
from aezoo.errors import TrainingError
from aezoo.models.factor_vae import FactorVAEObjective

SMALL = dict(latent_dim=4, channels=(8, 16), disc_hidden=(16,))


@pytest.fixture(scope="module")
def splits():
    return digits_splits()


def factor_vae():
    torch.manual_seed(0)
    return aezoo.create_model("factor-vae", input_shape=(1, 8, 8), **SMALL)


def test_an_aux_network_that_no_loss_trains_is_refused(splits):
    model = factor_vae()
    model.objective.aux_losses = ()
    with pytest.raises(ValueError, match=r"auxiliary networks \(discriminator\).*aux_losses"):
        Trainer(model, splits, TrainConfig(epochs=1))


def test_optimizer_settings_that_do_not_suit_the_optimizer_name_the_network(splits):
    model = factor_vae()
    model.aux_optimizers["discriminator"]["optimizer"] = "sgd"  # SGD has no betas
    with pytest.raises(ValueError, match="do not suit sgd for discriminator"):
        Trainer(model, splits, TrainConfig(epochs=1))


def test_a_nan_aux_loss_stops_training_naming_it(splits, monkeypatch):
    forward = FactorVAEObjective.forward

    def broken(self, model, batch, step):
        loss, parts = forward(self, model, batch, step)
        return loss, {**parts, "discriminator": parts["discriminator"] * float("nan")}

    monkeypatch.setattr(FactorVAEObjective, "forward", broken)
    with one_thread(), pytest.raises(TrainingError, match="discriminator loss became nan in epoch 1, batch 1"):
        Trainer(factor_vae(), splits, TrainConfig(epochs=1, batch_size=256)).fit()
