"""Resuming (issue 18, items 13 and 14): SIGTERM stops training like Ctrl-C, with a checkpoint and the --resume
line; a resumed run's throughput counts every image it trained on; options a resume would ignore are refused."""
import os
import signal

import pytest
from helpers import zoo

from aezoo.api.train import Interrupted, train
from aezoo.core.events import TrainingEvents
from aezoo.errors import AezooError
from aezoo.registry import Registry


class SignalAfter(TrainingEvents):
    """Sends this process ``signum`` after ``n`` batches, as `kill` (SIGTERM) or Ctrl-C (SIGINT) would."""

    def __init__(self, n, signum=signal.SIGTERM):
        self.n, self.signum = n, signum

    def batch(self, loss, images):  # noqa: ARG002
        self.n -= 1
        if self.n == 0:
            os.kill(os.getpid(), self.signum)


def interrupted_key(**settings):
    """The checkpoint key of an mlp-ae run stopped by Ctrl-C in its first epoch."""
    with pytest.raises(Interrupted) as stop:
        train("mlp-ae", progress=SignalAfter(3, signal.SIGINT), **{"epochs": 2, "batch_size": 256, **settings})
    return stop.value.key


class Unhandled(Exception):
    pass


def unhandled(signum, frame):
    raise Unhandled("SIGTERM reached the handler that was there before training")


def test_sigterm_leaves_a_checkpoint_and_says_how_to_resume(monkeypatch):
    from aezoo.api import train as training

    before = signal.signal(signal.SIGTERM, unhandled)  # were SIGTERM left to this, the test would fail, not die
    try:
        sigterm_then_resume(monkeypatch, training)
    finally:
        signal.signal(signal.SIGTERM, before)


def sigterm_then_resume(monkeypatch, training):

    progress = SignalAfter(3)
    with monkeypatch.context() as patch:
        patch.setattr(training, "_events", lambda *args: progress)  # the CLI's progress, with a kill in it
        result = zoo("train", "mlp-ae", "--epochs", 2, "--batch-size", 256)
    (key,) = [p.name for p in Registry().list_checkpoints()]
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].endswith(f"Resume with: zoo train --resume {key}"), result.output
    assert "epoch 1 after batch 3" in errors[0]
    assert signal.getsignal(signal.SIGTERM) is unhandled  # SIGTERM behaves as before training again
    resumed = zoo("train", "--resume", key)
    assert resumed.exit_code == 0, resumed.output
    assert len(Registry().list()) == 1 and Registry().list_checkpoints() == []


def test_throughput_after_a_resume_counts_every_image_trained():
    epochs = 3
    with pytest.raises(Interrupted) as stop:
        train("mlp-ae", epochs=epochs, batch_size=64, progress=SignalAfter(2 * 21 + 5, signal.SIGINT))  # epoch 3
    resumed = train("", resume=stop.value.key, progress=False)
    metrics, trained = resumed.run.metrics, epochs * 1293  # digits: 1293 training images an epoch
    assert metrics["images_per_second"] == pytest.approx(trained / metrics["train_seconds"], rel=0.01)


@pytest.mark.parametrize("options, named", [
    (("--dataset", "mnist"), "--dataset"), (("--epochs", 5), "--epochs"), (("--lr", 0.1), "--lr"),
    (("--name", "again"), "--name"), (("--set", "latent_dim=3"), "--set"), (("--seed", 4), "--seed"),
    (("mlp-ae",), "MODEL (mlp-ae)"), (("--epochs", 5, "--lr", 0.1), "--epochs, --lr"),
])
def test_options_a_resume_would_ignore_are_refused_naming_them(options, named):
    key = interrupted_key()
    result = zoo("train", "--resume", key, *options)
    assert result.exit_code == 2, result.output
    assert f"so {named} would be ignored" in result.output, result.output
    assert [p.name for p in Registry().list_checkpoints()] == [key] and Registry().list() == []


@pytest.mark.parametrize("arguments", [{"dataset": "mnist"}, {"epochs": 5}, {"name": "again"},
                                       {"hyperparameters": {"latent_dim": 3}}])
def test_the_python_api_refuses_them_too(arguments):
    key = interrupted_key()
    with pytest.raises(AezooError, match=f"so {next(iter(arguments))} would be ignored"):
        train("", resume=key, **arguments)
    with pytest.raises(AezooError, match="is a run of 'mlp-ae', not 'vae'"):
        train("vae", resume=key)
    assert train("mlp-ae", resume=key, progress=False).run.model == "mlp-ae"
