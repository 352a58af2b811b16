"""Labels reach a conditional model: through the Trainer's training and validation batches (each with its own
image's label), evaluation and generation; `zoo generate --label` conditions it through its inputs; a conditional
model on unlabelled data fails in one line; a model that reads no labels is handed none."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import zoo, zoo_ok
from torch import nn

import aezoo
from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.interfaces import Decoder, Encoder, Objective
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import GaussianPosterior
from aezoo.core.trainer import TrainConfig, Trainer
from aezoo.data.splits import Split, Splits
from aezoo.plugins.testing import registered_plugin

CLASSES = 10


class OneHotEncoder(Encoder):
    """q(z|x, y): an MLP on the pixels with the one-hot label concatenated."""

    conditional = True

    def __init__(self, input_shape, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Linear(int(np.prod(input_shape)) + CLASSES, 2 * latent_dim)

    def forward(self, x, y):
        mu, logvar = self.net(torch.cat([x.flatten(1), F.one_hot(y, CLASSES).to(x.dtype)], 1)).chunk(2, 1)
        return mu, logvar


class OneHotDecoder(Decoder):
    """p(x|z, y): a linear layer on the code with the one-hot label concatenated (label weights: the last
    CLASSES columns)."""

    conditional = True

    def __init__(self, input_shape, latent_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim + CLASSES, int(np.prod(input_shape))),
                                 nn.Unflatten(1, tuple(input_shape)))

    def forward(self, z, y):
        return self.net(torch.cat([z, F.one_hot(y, CLASSES).to(z.dtype)], 1))


def build(input_shape, latent_dim: int = 2):
    return AutoEncoder(OneHotEncoder(input_shape, latent_dim), OneHotDecoder(input_shape, latent_dim), ELBO(),
                       input_shape, posterior=GaussianPosterior(latent_dim))


class ConditionalPlugin:
    @aezoo.hookimpl
    def register_models(self, register):
        register("tiny-cvae", build, "A one-hot conditional VAE", family="vae", defaults={"latent_dim": 2})


@pytest.fixture
def plugin(monkeypatch):
    monkeypatch.setenv("AEZOO_LOAD_PLUGINS", "builtin")
    with registered_plugin(ConditionalPlugin(), "cond"):
        yield


@pytest.fixture
def drawn(monkeypatch):
    """The images `zoo generate` puts in its grid (the PNG's title names the class, so it differs anyway)."""
    from aezoo.viz import draw

    grids, image_grid = [], draw.image_grid

    def recording(images, *args, **kwargs):
        grids.append(images.clone())
        return image_grid(images, *args, **kwargs)

    monkeypatch.setattr(draw, "image_grid", recording)
    return grids


def _generate(home, tmp_path, drawn, ref: str, label: int) -> torch.Tensor:
    out = tmp_path / f"{ref}-{label}.png"
    shown = json.loads(zoo_ok("generate", ref, "--label", label, "-n", 8, "-o", out, "--json", "--home", home))
    assert shown["labels"] == [label] and shown["conditioned_by"].startswith("the label given to the model")
    assert out.is_file()
    return drawn[-1]


def test_zoo_generate_label_conditions_a_conditional_model_through_its_inputs(plugin, tmp_path, zoo_home, drawn):
    """With the same seed (the same codes), two labels give different images; with the decoder's label weights
    zeroed they give the same images: the class comes from the label input, not from a fit to class codes (which
    would differ by class whatever the decoder does)."""
    torch.manual_seed(0)
    model = aezoo.train("tiny-cvae", dataset="digits", epochs=1, progress=False)
    assert model.capabilities.conditional
    assert not torch.equal(_generate(zoo_home, tmp_path, drawn, "tiny-cvae-1", 1),
                           _generate(zoo_home, tmp_path, drawn, "tiny-cvae-1", 2))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["decoder.net.0.weight"][:, 2:] = 0  # the decoder no longer reads the label
    run = model.run
    blind = aezoo.Registry().save("tiny-cvae", state, hyperparameters=run.hyperparameters,
                                  input_shape=run.input_shape, config=dict(run.config), metrics={}, history=[])
    assert torch.equal(_generate(zoo_home, tmp_path, drawn, blind.id, 1),
                       _generate(zoo_home, tmp_path, drawn, blind.id, 2))
    metrics = aezoo.evaluate.evaluate_run("tiny-cvae-1", iw_samples=2)
    assert np.isfinite(metrics["test_neg_elbo"]) and 0 <= metrics["class_consistency"]["mean"] <= 1


def test_a_conditional_model_on_unlabelled_data_fails_in_one_line(plugin, tmp_path, zoo_home):
    images = np.random.default_rng(0).integers(0, 256, size=(40, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "x.npz", x=images)  # no y
    result = zoo("train", "tiny-cvae", "--dataset", f"npz:{tmp_path / 'x.npz'}", "--epochs", 1)
    assert result.exit_code == 1, result.output
    said = result.output.strip().splitlines()
    assert said[0].startswith("training tiny-cvae on npz:") and len(said) == 2, said  # the start, then one line
    assert said[1].startswith("Error: the model is conditional") and "has no labels" in said[1]
    torch.manual_seed(0)
    aezoo.train("tiny-cvae", dataset="digits", epochs=1, progress=False)
    again = zoo("eval", "tiny-cvae", "--dataset", f"npz:{tmp_path / 'x.npz'}", "--home", zoo_home)
    assert again.exit_code == 1 and "has no labels" in again.output and len(again.output.strip().splitlines()) == 1


class LabelledByPixel(Objective):
    """Records the labels it is given and checks each against its image (whose pixels all equal label * 20)."""

    def __init__(self, conditional: bool):
        super().__init__()
        self.conditional, self.seen = conditional, []

    def forward(self, model, batch, step):
        self.seen.append(batch.y)
        if batch.y is not None:
            assert torch.equal(batch.y, (batch.x[:, 0, 0, 0] * 255 / 20).round().long())
        out = model(batch.inputs, batch.y)
        return model.likelihood.nll(out.logits, batch.x), {}


def _pixel_labelled_splits(n: int = 120) -> Splits:
    labels = torch.arange(n) % CLASSES
    images = (labels * 20).to(torch.uint8)[:, None, None, None].expand(n, 1, 8, 8).contiguous()
    return Splits("pixel-labelled", Split(images, labels), Split(images[:30], labels[:30]), Split(images, labels))


@pytest.mark.parametrize("conditional", [True, False])
def test_the_trainer_hands_each_batch_its_own_labels_and_none_to_a_model_that_reads_none(conditional):
    torch.manual_seed(0)
    objective = LabelledByPixel(conditional)
    enc, dec = OneHotEncoder((1, 8, 8), 2), OneHotDecoder((1, 8, 8), 2)
    enc.conditional = dec.conditional = False  # only the objective declares (or not) that it reads labels
    enc.forward = lambda x: OneHotEncoder.forward(enc, x, torch.zeros(len(x), dtype=torch.long))
    dec.forward = lambda z: OneHotDecoder.forward(dec, z, torch.zeros(len(z), dtype=torch.long))
    model = AutoEncoder(enc, dec, objective, (1, 8, 8), posterior=GaussianPosterior(2))
    Trainer(model, _pixel_labelled_splits(), TrainConfig(epochs=2, batch_size=16)).fit()
    assert len(objective.seen) > 2 * 8  # training and validation batches
    if conditional:
        assert all(y is not None for y in objective.seen)
    else:
        assert all(y is None for y in objective.seen)


def test_a_conditional_model_without_labels_says_so():
    model = build((1, 8, 8))
    with pytest.raises(ValueError, match="conditional .*pass the class labels y"):
        model.encode(torch.rand(2, 1, 8, 8))
    assert model.encode(torch.rand(2, 1, 8, 8), torch.tensor([1, 2])).shape == (2, 2)
