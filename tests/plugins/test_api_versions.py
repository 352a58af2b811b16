"""The declared AEZOO_PLUGIN_API decides how a plugin is treated, never a guess from its code: API 1 is refused at
load with one line naming the porting section of docs/plugins.md, an undeclared plugin is taken as the current API,
and an objective that cannot be called (model, batch, step) is refused, naming the model and its plugin, when the
model is built (not with an AttributeError in the middle of training)."""
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import aezoo
from aezoo.cli import main
from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.interfaces import Decoder, Encoder, Objective
from aezoo.core.objectives import Reconstruction

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


class TinyEncoder(Encoder):
    def __init__(self):
        super().__init__()
        self.latent_dim = 2
        self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))

    def forward(self, x):
        return self.body(x)


class TinyDecoder(Decoder):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.Unflatten(1, (1, 8, 8)))

    def forward(self, z):
        return self.body(z)


class TargetOutObjective(Objective):
    """The API 1 call, ``objective(target, out)``."""

    def forward(self, target, out):
        rec = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, target)
        return rec, {"reconstruction": rec}


class NoStepObjective(Objective):
    """API 2 but without ``step``: once run as API 1 because it had two parameters."""

    def forward(self, model, batch):
        out = model(batch.inputs)
        rec = model.likelihood.nll(out.logits, batch.x)
        return rec, {"reconstruction": rec}


def build_with(objective_class):
    def build(input_shape):
        return AutoEncoder(TinyEncoder(), TinyDecoder(), objective_class(), input_shape)

    return build


class ModelPlugin:
    def __init__(self, api, objective_class=Reconstruction):
        if api is not None:
            self.AEZOO_PLUGIN_API = api
        self.build = build_with(objective_class)

    @aezoo.hookimpl
    def register_models(self, register):
        register("tiny-ae", self.build, "A tiny autoencoder")


def test_a_plugin_declaring_api_1_is_refused_with_one_line_naming_the_porting_section(aezoo_plugin):
    catalog = aezoo_plugin(ModelPlugin(api=1), "old")
    assert "tiny-ae" not in catalog.models
    [error] = catalog.plugins["old"].errors
    assert "plugin API 1" in error and "Porting a plugin from API 1" in error and "\n" not in error
    assert "## Porting a plugin from API 1" in DOCS.read_text()
    shown = CliRunner().invoke(main, ["plugins"]).output
    assert "old (ModelPlugin): FAILED" in shown and shown.count("Porting a plugin from API 1") == 1


def test_an_undeclared_plugin_is_taken_as_the_current_api(aezoo_plugin):
    catalog = aezoo_plugin(ModelPlugin(api=None), "plain")
    assert catalog.plugins["plain"].ok and catalog.models["tiny-ae"].plugin == "plain"
    model = aezoo.create_model("tiny-ae", input_shape=(1, 8, 8))
    assert model.loss(torch.rand(4, 1, 8, 8))[0].ndim == 0


@pytest.mark.parametrize("objective_class", [TargetOutObjective, NoStepObjective])
def test_an_objective_not_taking_model_batch_step_is_refused_when_the_model_is_built(aezoo_plugin, objective_class):
    aezoo_plugin(ModelPlugin(api=2, objective_class=objective_class), "mine")
    with pytest.raises(aezoo.errors.PluginError) as refused:
        aezoo.create_model("tiny-ae", input_shape=(1, 8, 8))
    message = str(refused.value)
    assert "model 'tiny-ae' of plugin 'mine'" in message and "\n" not in message
    assert f"{objective_class.__name__}.forward" in message and "must take (model, batch, step)" in message
