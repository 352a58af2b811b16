"""Slow: real Fashion-MNIST from Debian's dataset-fashion-mnist (`pytest -m slow`; .ci/run installs it)."""
from pathlib import Path

import pytest

from aezoo.api.catalog import load_dataset
from aezoo.api.evaluate import evaluate_model
from aezoo.api.train import train
from aezoo.core.trainer import TrainConfig

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (DEBIAN / "train-images-idx3-ubyte.gz").is_file(),
                                 reason="apt-get install dataset-fashion-mnist")]


def test_fashion_mnist_is_found_without_a_data_dir():
    splits = load_dataset("fashion-mnist")
    assert splits.input_shape == (1, 28, 28)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (55000, 5000, 10000)
    assert splits.train.images.dtype.is_floating_point is False and splits.classes[0] == "T-shirt/top"


def test_one_epoch_of_conv_vae_reaches_a_sane_elbo(tmp_path):
    model = train("conv-vae", dataset="fashion-mnist", config=TrainConfig(epochs=1))
    metrics = evaluate_model(model, load_dataset("fashion-mnist"), iw_samples=10, limit=2000)
    assert 230 < metrics["test_neg_elbo"] < 275, metrics["test_neg_elbo"]
    assert metrics["test_iw_nll"] < metrics["test_neg_elbo"]
    assert metrics["test_active_units"] >= 8
