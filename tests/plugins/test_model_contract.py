"""A new model's shapes are checked once on a tiny batch (issue 18, item 12): a plugin whose encoder or decoder
breaks the contract of docs/plugins.md is one line naming the model, the plugin, the part and the contract; a
factory that raises names its plugin; `zoo plugins` shows pluggy's validation errors on one readable line."""
import pytest
import torch
from helpers import zoo
from torch import nn

import aezoo
from aezoo.api.build import create_model
from aezoo.api.catalog import list_models, model_spec
from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.interfaces import Decoder, Encoder
from aezoo.core.objectives import Reconstruction
from aezoo.errors import PluginError


class FlatEncoder(Encoder):
    def __init__(self, shape, latent_dim, extra=0, fail=False):
        super().__init__()
        self.latent_dim, self.fail = latent_dim, fail
        self.net = nn.Linear(shape[0] * shape[1] * shape[2], latent_dim + extra)

    def forward(self, x):
        if self.fail:
            raise RuntimeError("encoder bug")
        return self.net(x.flatten(1))


class FlatDecoder(Decoder):
    def __init__(self, shape, latent_dim, crop=0):
        super().__init__()
        self.shape = (shape[0], shape[1] - crop, shape[2] - crop)
        self.net = nn.Linear(latent_dim, self.shape[0] * self.shape[1] * self.shape[2])

    def forward(self, z):
        return self.net(z).view(-1, *self.shape)


def model(input_shape, latent_dim: int = 4, extra: int = 0, crop: int = 0, fail: bool = False):
    return AutoEncoder(FlatEncoder(input_shape, latent_dim, extra, fail), FlatDecoder(input_shape, latent_dim, crop),
                       Reconstruction(), input_shape)


def raising(input_shape, latent_dim: int = 4):
    raise RuntimeError("the factory's own bug")


def not_a_model(input_shape, latent_dim: int = 4):
    return nn.Linear(2, 2)


class Contracts:
    @aezoo.hookimpl
    def register_models(self, register):
        register("wide-encoder", lambda input_shape, latent_dim=4: model(input_shape, latent_dim, extra=1), "+1 code")
        register("small-decoder", lambda input_shape, latent_dim=4: model(input_shape, latent_dim, crop=1), "7x7")
        register("failing-encoder", lambda input_shape, latent_dim=4: model(input_shape, latent_dim, fail=True), "x")
        register("raising-factory", raising, "a factory that raises")
        register("not-a-model", not_a_model, "returns an nn.Linear")
        register("good-model", model, "keeps the contract")


class ExtraArgument:
    @aezoo.hookimpl
    def register_models(self, register, extra):
        pass


@pytest.mark.parametrize("name, words", [
    ("wide-encoder", ["its encoder breaks the contract", "codes of shape (2, 5), expected shape (2, 4)",
                      "(N, latent_dim)"]),
    ("small-decoder", ["its decoder breaks the contract", "logits of shape (2, 1, 7, 7), expected shape (2, 1, 8, 8)",
                       "shaped exactly like the input"]),
    ("failing-encoder", ["its encoder fails on images of shape (2, 1, 8, 8): RuntimeError: encoder bug"]),
    ("not-a-model", ["returned a Linear without encoder, posterior, decoder, input_shape, latent_dim",
                     "AutoEncoder"]),
])
def test_a_model_breaking_the_contract_is_named_with_its_part(aezoo_plugin, name, words):
    aezoo_plugin(Contracts(), "contracts")
    with pytest.raises(PluginError) as err:
        create_model(name, input_shape=(1, 8, 8))
    for word in [f"model '{name}' of plugin 'contracts'", *words]:
        assert word in str(err.value), (word, str(err.value))
    result = zoo("train", name, "--epochs", "1")
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"model '{name}' of plugin 'contracts'" in errors[0], result.output


def test_a_factory_that_raises_names_its_plugin(aezoo_plugin):
    aezoo_plugin(Contracts(), "contracts")
    result = zoo("train", "raising-factory", "--epochs", "1")
    assert result.exit_code == 1
    assert "model 'raising-factory' of plugin 'contracts'" in result.output and "the factory's own bug" in result.output


def test_the_check_changes_neither_the_model_nor_the_random_state(aezoo_plugin):
    aezoo_plugin(Contracts(), "contracts")
    torch.manual_seed(0)
    unchecked = model_spec("good-model").build((1, 8, 8))
    after_unchecked = torch.rand(3)
    torch.manual_seed(0)
    checked = create_model("good-model", input_shape=(1, 8, 8))
    assert torch.equal(torch.rand(3), after_unchecked)
    assert all(torch.equal(a, b) for a, b in zip(unchecked.state_dict().values(), checked.state_dict().values()))
    assert all(m.training for m in checked.modules())
    vq = create_model("vq-vae", input_shape=(1, 8, 8))
    assert not bool(vq.posterior.initialised)  # the codebook is still set from the first training batch


def test_every_built_in_model_keeps_the_contract():
    builtin = [name for name in list_models() if model_spec(name).plugin == "builtin"]
    for name in builtin:
        create_model(name, input_shape=(1, 8, 8))  # raises PluginError naming the part otherwise
    assert len(builtin) >= 10


def test_a_saved_run_whose_plugin_now_breaks_the_contract_is_named_at_load(aezoo_plugin, monkeypatch):
    aezoo_plugin(Contracts(), "contracts")
    run = aezoo.train("good-model", epochs=1, progress=False).run
    monkeypatch.setattr(FlatDecoder, "forward", lambda self, z: self.net(z).view(-1, *self.shape)[..., 1:, 1:])
    with pytest.raises(PluginError, match="model 'good-model' of plugin 'contracts': its decoder breaks"):
        aezoo.load(run.id)


def test_zoo_plugins_shows_a_validation_error_on_one_readable_line(aezoo_plugin):
    aezoo_plugin(ExtraArgument(), "extra-argument")
    result = zoo("plugins")
    line = next(line for line in result.output.splitlines() if "PluginValidationError" in line)
    assert "\\n" not in line and "register_models(register, extra); Argument(s) {'extra'}" in line, line
