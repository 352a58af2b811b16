"""Tests for the example plugin, registered in-process with aezoo.plugins.testing (entry points are skipped)."""
import inspect

import numpy as np
import pytest
import torch

import aezoo
from aezoo.api.build import create_model
from aezoo.api.catalog import load_dataset
from aezoo.plugins.testing import aezoo_plugin  # noqa: F401  (fixture)
from aezoo_plugin_example import model as model_module
from aezoo_plugin_example import plugin
from aezoo_plugin_example.blobs import CLASSES, make_blobs

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 9, 13)]


@pytest.fixture
def catalog(aezoo_plugin, monkeypatch, tmp_path):
    """aezoo with only the built-ins and this plugin (registered in-process), and an empty registry home."""
    monkeypatch.setenv("AEZOO_LOAD_PLUGINS", "builtin")  # skip installed entry points, this one included
    monkeypatch.setenv("AEZOO_HOME", str(tmp_path / "zoo-home"))
    return aezoo_plugin(plugin, "example")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train faster on one thread, and much faster on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_plugin_registers_its_model_and_dataset(catalog):
    info = catalog.plugins["example"]
    assert info.ok, info.errors
    assert info.models == ["res-conv-vae"] and info.datasets == ["blobs"]
    assert catalog.models["res-conv-vae"].family == "vae"
    assert plugin.AEZOO_PLUGIN_API == aezoo.PLUGIN_API_VERSION


def test_registered_defaults_are_the_builds_own(catalog):
    """The registration lists every hyperparameter of ``build`` with the same default, so they cannot drift."""
    signature = inspect.signature(model_module.build).parameters
    expected = {name: p.default for name, p in signature.items() if name != "input_shape"}
    assert dict(catalog.models["res-conv-vae"].defaults) == expected


@pytest.mark.parametrize("key, value", [("beta", -1.0), ("latent_dim", 0), ("channels", ())])
def test_bad_values_are_refused_before_the_model_is_built(catalog, key, value):
    with pytest.raises(aezoo.errors.BadHyperparameterError, match=f"{key} must be"):
        catalog.models["res-conv-vae"].check({key: value})


@pytest.mark.parametrize("shape", SHAPES)
def test_shapes(catalog, shape):
    model = create_model("res-conv-vae", input_shape=shape, latent_dim=5)
    x = torch.rand(3, *shape)
    out = model(x)
    assert out.logits.shape == x.shape
    assert out.mu.shape == out.logvar.shape == out.z.shape == (3, 5)
    assert model.sample(2).shape == (2, *shape)
    loss, parts = model.loss(x)
    assert loss.ndim == 0 and set(parts) == {"reconstruction", "kl"}


def test_too_small_input_is_a_clear_error(catalog):
    with pytest.raises(ValueError, match="too small"):
        create_model("res-conv-vae", input_shape=(1, 3, 3))


def test_loss_falls_on_a_fixed_batch(catalog):
    torch.manual_seed(0)
    model = create_model("res-conv-vae", input_shape=(1, 16, 16), channels=(16, 32), latent_dim=8)
    x = torch.from_numpy(make_blobs(32)[0]).float() / 255
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(20):
        loss, _ = model.loss(x)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_blobs_are_deterministic_and_labelled_by_quadrant(catalog):
    images, labels = make_blobs()
    again, labels_again = make_blobs()
    assert images.shape == (2000, 1, 16, 16) and images.dtype == np.uint8
    assert np.array_equal(images, again) and np.array_equal(labels, labels_again)
    assert np.bincount(labels).tolist() == [500] * 4
    for k in range(len(CLASSES)):
        mean = images[labels == k, 0].astype(float).mean(0)
        quadrants = [mean[:8, :8], mean[:8, 8:], mean[8:, :8], mean[8:, 8:]]
        assert int(np.argmax([q.sum() for q in quadrants])) == k
    assert not np.array_equal(images, make_blobs(seed=1)[0])


def test_blobs_load_through_aezoo(catalog):
    splits = load_dataset("blobs")
    assert splits.input_shape == (1, 16, 16) and splits.classes == CLASSES
    assert len(splits.train) + len(splits.val) + len(splits.test) == 2000
