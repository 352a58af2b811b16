"""No NaN or infinity is trained past, saved, printed or drawn (issue 18, item 9): a non-finite validation loss
stops training like a non-finite training loss, in the epoch it appears, with nothing saved; evaluating or
drawing a model whose decoder gives NaN is one line, exit 1."""
import pytest
from helpers import zoo

import aezoo
from aezoo.api.build import create_model
from aezoo.api.train import train
from aezoo.core.objectives import Reconstruction
from aezoo.errors import TrainingError
from aezoo.registry import Registry


def build_nan_in_eval(input_shape, latent_dim: int = 2):
    """An mlp-ae whose decoder gives NaN in eval mode only: training looks fine, validation does not."""
    model = create_model("mlp-ae", input_shape=input_shape, latent_dim=latent_dim, hidden=(16,))
    decoder_forward = model.decoder.forward
    model.decoder.forward = lambda z: decoder_forward(z) * (1.0 if model.decoder.training else float("nan"))
    return model


class NanFrom(Reconstruction):
    """The reconstruction loss, NaN from optimiser step ``step`` on (and outside training, where step is DONE)."""

    def __init__(self, step: int):
        super().__init__()
        self.step = step

    def forward(self, model, batch, step):
        loss, parts = super().forward(model, batch, step)
        return (loss * float("nan") if step.step >= self.step else loss), parts


def build_nan_from_step_30(input_shape, latent_dim: int = 2):
    model = create_model("mlp-ae", input_shape=input_shape, latent_dim=latent_dim, hidden=(16,))
    model.objective = NanFrom(30)
    return model


class NanModels:
    @aezoo.hookimpl
    def register_models(self, register):
        register("nan-in-eval", build_nan_in_eval, "decoder gives NaN in eval mode")
        register("nan-from-step-30", build_nan_from_step_30, "objective gives NaN from step 30")


def test_a_nan_validation_loss_stops_training_in_its_epoch_and_saves_nothing(aezoo_plugin, zoo_home):
    aezoo_plugin(NanModels(), "nan")
    with pytest.raises(TrainingError, match=r"validation loss became nan in epoch 1 .*nothing was saved"):
        train("nan-in-eval", epochs=3, progress=False)
    assert Registry().list() == [] and Registry().list_checkpoints() == []
    assert not (zoo_home / "checkpoints").is_dir() or not any((zoo_home / "checkpoints").iterdir())


def test_an_objective_nan_from_step_30_stops_training_in_epoch_1(aezoo_plugin):
    aezoo_plugin(NanModels(), "nan")  # digits: 21 steps of 64 an epoch; validation runs after the last step
    result = zoo("train", "nan-from-step-30", "--epochs", 3)
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "validation loss became nan in epoch 1" in errors[0], result.output
    assert "val_loss=nan" not in result.output and Registry().list() == []


@pytest.fixture
def nan_run(aezoo_plugin):
    """A saved run of the NaN-in-eval model (as an older aezoo would have saved it)."""
    aezoo_plugin(NanModels(), "nan")
    model = create_model("nan-in-eval", input_shape=(1, 8, 8))
    return Registry().save("nan-in-eval", model.state_dict(), hyperparameters={}, input_shape=(1, 8, 8),
                           config={"dataset": "digits"}, metrics={}, history=[])


@pytest.mark.parametrize("args", [("eval", "--iw-samples", 2), ("eval", "--iw-samples", 2, "--no-save"),
                                  ("eval", "--iw-samples", 2, "--json"), ("sample",), ("reconstruct",)])
def test_a_model_giving_nan_is_one_line_never_nan_with_exit_0(nan_run, tmp_path, args):
    command, *options = args
    output = () if command == "eval" else ("-o", tmp_path / "out.png")
    result = zoo(command, nan_run.id, *options, *output)
    assert result.exit_code == 1, result.output
    assert not [line for line in result.output.splitlines() if "nan" in line.replace("nan-in-eval", "")
                and not line.startswith("Error:")], result.output  # no metric printed as nan
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and ("non-finite" in errors[0] or "not numbers" in errors[0]), result.output
    assert not (tmp_path / "out.png").exists()
    assert Registry().get(nan_run.id).metrics == {}
