"""What training promises beyond "the loss fell": any non-finite loss stops it where it happened, a crash leaves
a resumable checkpoint and says how to resume (or leaves no folder), the best validation weights are the ones
kept (the last ones when the objective's losses are not comparable), and a second Ctrl-C stops at once."""
from __future__ import annotations

import os
import signal

import pytest
import torch

import aezoo
from aezoo.api.train import train
from aezoo.core.events import TrainingEvents
from aezoo.data.splits import Split, Splits
from aezoo.errors import TrainingError
from aezoo.registry import Registry


def build_inf_on_third_batch(input_shape, latent_dim: int = 2):
    """An mlp-ae whose loss is +inf (not NaN, and with finite gradients) on its third training batch."""
    model = aezoo.create_model("mlp-ae", input_shape=input_shape, latent_dim=latent_dim, hidden=(16,))
    clean_loss, calls = model.loss, [0]

    def loss(x, step=None):
        value, parts = clean_loss(x, step)
        if model.training:
            calls[0] += 1
            if calls[0] == 3:
                return value + float("inf"), parts
        return value, parts

    model.loss = loss
    return model


class InfPlugin:
    @aezoo.hookimpl
    def register_models(self, register):
        register("inf-ae", build_inf_on_third_batch, "Loss becomes infinite on batch 3")


def test_an_infinite_loss_stops_training_naming_the_batch_and_saves_nothing(aezoo_plugin):
    aezoo_plugin(InfPlugin(), "inf")
    with pytest.raises(TrainingError, match=r"loss became inf in epoch 1, batch 3; nothing was saved"):
        train("inf-ae", epochs=2)
    assert Registry().list() == [] and Registry().list_checkpoints() == []


CRASH_AT = {"call": 3, "error": RuntimeError}  # which training call of the loss raises, and what


def build_crash_on_call(input_shape, latent_dim: int = 2):
    """An mlp-ae whose loss raises CRASH_AT["error"] on training call CRASH_AT["call"] (None: never)."""
    model = aezoo.create_model("mlp-ae", input_shape=input_shape, latent_dim=latent_dim, hidden=(16,))
    clean_loss, calls = model.loss, [0]

    def loss(x, step=None):
        if model.training:
            calls[0] += 1
            if calls[0] == CRASH_AT["call"]:
                raise CRASH_AT["error"]("the objective failed")
        return clean_loss(x, step)

    model.loss = loss
    return model


class CrashPlugin:
    @aezoo.hookimpl
    def register_models(self, register):
        register("crash-ae", build_crash_on_call, "Loss raises on a chosen training call")


def checkpoint_folders(home):
    """Every folder under the registry's checkpoints/, empty ones included (list_checkpoints skips those)."""
    root = home / "checkpoints"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_a_crash_before_the_first_checkpoint_leaves_no_folder(aezoo_plugin, monkeypatch, zoo_home):
    aezoo_plugin(CrashPlugin(), "crash")
    monkeypatch.setitem(CRASH_AT, "call", 3)
    with pytest.raises(RuntimeError, match="the objective failed") as err:
        train("crash-ae", epochs=2, batch_size=256, progress=False)
    assert not any("--resume" in note for note in getattr(err.value, "__notes__", []))
    assert checkpoint_folders(zoo_home) == [] and Registry().list() == []


def test_a_crash_after_a_checkpoint_offers_resume_and_the_resume_finishes(aezoo_plugin, monkeypatch, zoo_home):
    aezoo_plugin(CrashPlugin(), "crash")
    monkeypatch.setitem(CRASH_AT, "call", 6 + 2)  # digits: 1294 images, 6 batches of 256; epoch 2, batch 2
    with pytest.raises(RuntimeError, match="the objective failed") as err:
        train("crash-ae", epochs=2, batch_size=256, checkpoint_every=0, progress=False)
    (key,) = [p.name for p in Registry().list_checkpoints()]
    assert checkpoint_folders(zoo_home) == [key]
    assert f"resume with: zoo train --resume {key}" in "\n".join(getattr(err.value, "__notes__", []))
    monkeypatch.setitem(CRASH_AT, "call", None)
    model = train("", resume=key, progress=False)
    assert [r.id for r in Registry().list()] == [model.run.id] and checkpoint_folders(zoo_home) == []
    assert model.run.metrics["epochs_trained"] == 2


def test_zoo_train_tells_in_one_line_how_to_resume_after_a_crash(aezoo_plugin, monkeypatch, zoo):
    from aezoo.core import trainer

    aezoo_plugin(CrashPlugin(), "crash")
    monkeypatch.setitem(CRASH_AT, "call", 6 + 2)
    monkeypatch.setitem(CRASH_AT, "error", ValueError)  # a user-facing kind: the CLI prints it in one line
    config = trainer.TrainConfig
    monkeypatch.setattr(trainer, "TrainConfig", lambda **kw: config(**kw, checkpoint_every=0))
    result = zoo("train", "crash-ae", "--epochs", 2, "--batch-size", 256)
    (key,) = [p.name for p in Registry().list_checkpoints()]
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = [s for s in result.output.splitlines() if s.startswith("Error:")]
    assert "the objective failed" in line and line.endswith(f"resume with: zoo train --resume {key}")


class FailsToStart(TrainingEvents):
    def train_start(self, info):
        raise RuntimeError("the tracker cannot start")


def test_a_tracker_failing_at_the_start_leaves_no_folder(zoo_home):
    with pytest.raises(RuntimeError, match="the tracker cannot start"):
        train("mlp-ae", epochs=1, progress=False, trackers=[FailsToStart()])
    assert checkpoint_folders(zoo_home) == [] and Registry().list() == []


def load_white_then_black(path, data_dir, download):
    """Training images all white, validation and test images all black: every step makes validation worse."""
    white = torch.full((256, 1, 8, 8), 255, dtype=torch.uint8)
    black = torch.zeros((64, 1, 8, 8), dtype=torch.uint8)
    return Splits("white-then-black", Split(white), Split(black), Split(black))


class DivergingData:
    @aezoo.hookimpl
    def register_datasets(self, register):
        register("white-then-black", load_white_then_black, "Validation gets worse as training goes on")


def test_the_best_validation_epochs_weights_are_kept_not_the_last(aezoo_plugin):
    aezoo_plugin(DivergingData(), "diverging")
    model = train("mlp-ae", dataset="white-then-black", epochs=4, batch_size=64)
    history = model.run.history
    assert model.run.metrics["best_epoch"] == 1 and history[-1]["val_loss"] > history[0]["val_loss"] + 1
    black = torch.zeros(64, 1, 8, 8)
    for kept in (model, aezoo.load(model.run.id)):
        with torch.no_grad():
            val_loss = kept.eval().loss(black)[0].item()
        assert val_loss == pytest.approx(history[0]["val_loss"], rel=1e-5)


def test_an_objective_whose_losses_are_not_comparable_keeps_the_last_epochs_weights():
    """A validation loss measured by a network that trains too (a VAE/GAN's discriminator) selects nothing."""
    from aezoo.core.trainer import TrainConfig, Trainer

    torch.manual_seed(0)
    model = aezoo.create_model("mlp-ae", input_shape=(1, 8, 8), latent_dim=2, hidden=(16,))
    model.objective.comparable_loss = False
    splits = load_white_then_black(None, None, False)
    result = Trainer(model, splits, TrainConfig(epochs=3, batch_size=64, lr=1e-2, patience=1, precision="fp32")).fit()
    assert result.history[-1]["val_loss"] > result.history[0]["val_loss"] + 1  # diverging, yet:
    assert result.best_epoch == 3 and len(result.history) == 3 and not result.stopped_early
    with torch.no_grad():
        assert model.eval().loss(torch.zeros(64, 1, 8, 8))[0].item() == pytest.approx(result.history[-1]["val_loss"],
                                                                                     rel=1e-5)


class CtrlCTwice(TrainingEvents):
    """Presses Ctrl-C twice during batch ``n``, as an impatient user does."""

    def __init__(self, n: int):
        self.n, self.batches = n, 0

    def batch(self, loss, images):
        self.batches += 1
        if self.batches == self.n:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)


def test_a_second_ctrl_c_stops_at_once():
    before = signal.getsignal(signal.SIGINT)
    progress = CtrlCTwice(3)
    with pytest.raises(KeyboardInterrupt):
        train("conv-ae", epochs=2, batch_size=64, progress=progress)
    assert progress.batches == 3  # not one more batch
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C behaves normally again afterwards
    assert Registry().list() == []


def build_fixed_init(input_shape, latent_dim: int = 2):
    """An mlp-ae whose initial weights do not depend on the training seed."""
    with torch.random.fork_rng():
        torch.manual_seed(123)
        return aezoo.create_model("mlp-ae", input_shape=input_shape, latent_dim=latent_dim, hidden=(32,))


class FixedInitPlugin:
    @aezoo.hookimpl
    def register_models(self, register):
        register("fixed-init-ae", build_fixed_init, "Same initial weights whatever the seed")


def test_the_seed_sets_the_order_of_the_batches(aezoo_plugin):
    """With the initial weights fixed, a deterministic autoencoder's weights differ between seeds only through
    the order in which batches were drawn."""
    aezoo_plugin(FixedInitPlugin(), "fixed-init")
    weights = [train("fixed-init-ae", epochs=1, seed=seed).state_dict() for seed in (0, 0, 1)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_the_best_epochs_weights_are_copied_not_referenced():
    """The Trainer alone (no checkpoint written): the weights restored are the best epoch's, kept as a copy
    while later epochs change the live ones."""
    from aezoo.core.trainer import TrainConfig, Trainer

    splits = load_white_then_black(None, None, False)
    torch.manual_seed(0)
    model = aezoo.create_model("mlp-ae", input_shape=(1, 8, 8))
    result = Trainer(model, splits, TrainConfig(epochs=4, precision="fp32")).fit()
    assert result.best_epoch == 1 and result.history[-1]["val_loss"] > result.history[0]["val_loss"] + 1
    with torch.no_grad():
        val_loss = model.eval().loss(splits.val.floats())[0].item()
    assert val_loss == pytest.approx(result.history[0]["val_loss"], rel=1e-5)


def test_validation_runs_the_model_in_eval_mode():
    """A denoising model is validated on clean inputs: the recorded val_loss is the eval-mode loss of the weights
    it was measured with (in training mode the inputs would be corrupted with fresh noise)."""
    from helpers import digits_splits

    from aezoo.core.trainer import TrainConfig, Trainer

    splits = digits_splits()
    torch.manual_seed(0)
    model = aezoo.create_model("denoising-ae", input_shape=(1, 8, 8))
    result = Trainer(model, splits, TrainConfig(epochs=1, batch_size=256, precision="fp32")).fit()
    model.eval()
    with torch.no_grad():
        total = sum(model.loss(x)[0].item() * len(x) for x, _ in splits.val.batches(256))
    assert result.history[0]["val_loss"] == pytest.approx(total / len(splits.val), rel=1e-5)
