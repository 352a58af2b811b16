"""pca: fitted once in closed form (what `zoo train pca` does and says), equal to scikit-learn's PCA on the same
images, and the linear autoencoder that learns about the same pair by gradient descent."""
import json

import numpy as np
import torch
from sklearn.decomposition import PCA

import aezoo
from aezoo.registry import Registry



def test_pca_is_fitted_once_and_zoo_train_says_so(zoo):
    result = zoo("train", "pca", "--latent-dim", 4)
    assert result.exit_code == 0, result.output
    assert "fitted in closed form on the training images (no epochs): train_loss=" in result.output
    assert "fitted in closed form in " in result.output and "epoch 1/" not in result.output
    run = Registry().get("pca")
    assert run.metrics["fitted"] == "closed form" and run.metrics["epochs_trained"] == 0
    assert "best_epoch" not in run.metrics and run.metrics["val_loss"] > 0
    assert [sorted(r) for r in run.history] == [["epoch", "seconds", "train_loss", "train_reconstruction",
                                                  "val_loss", "val_reconstruction"]]


def test_pca_codes_and_reconstructions_are_scikit_learns(digits):
    model = aezoo.train("pca", hyperparameters={"latent_dim": 5}, progress=False)
    x = digits.test.floats()
    reference = PCA(5).fit(digits.train.floats().flatten(1).double().numpy())
    codes = reference.transform(x.flatten(1).double().numpy())
    back = np.clip(reference.inverse_transform(codes), 1e-6, 1 - 1e-6)
    assert np.abs(model.encode(x).numpy() - codes).max() < 1e-5
    assert np.abs(model.reconstruct(x).flatten(1).numpy() - back).max() < 1e-5


def test_more_components_lose_less(digits):
    x = digits.test.floats()
    errors = [float((aezoo.train("pca", hyperparameters={"latent_dim": d}, progress=False).reconstruct(x) - x)
                    .pow(2).mean()) for d in (2, 8, 32)]
    assert errors[0] > errors[1] > errors[2]


def test_a_linear_autoencoder_learns_about_what_pca_computes(digits):
    x = digits.test.floats()
    pca = aezoo.train("pca", hyperparameters={"latent_dim": 4}, progress=False)
    linear = aezoo.train("linear-ae", hyperparameters={"latent_dim": 4}, epochs=30, lr=1e-2, progress=False)
    assert [type(m).__name__ for m in linear.encoder.modules()] == ["MLPEncoder", "Sequential", "Flatten", "Linear"]
    mse = {name: float((m.reconstruct(x) - x).pow(2).mean()) for name, m in (("pca", pca), ("linear", linear))}
    assert abs(mse["linear"] - mse["pca"]) < 0.15 * mse["pca"], mse


def test_more_components_than_pixels_are_refused(zoo):
    result = zoo("train", "pca", "--latent-dim", 65)
    assert result.exit_code == 1
    assert "latent_dim 65 is more than the 64 values of a (1, 8, 8) image" in result.output


def test_an_unfitted_pca_decodes_the_same_grey_everywhere():
    model = aezoo.create_model("pca", input_shape=(1, 8, 8), latent_dim=2)
    images = model.decode(torch.randn(3, 2))
    assert torch.allclose(images, torch.full_like(images, 1e-6))


def test_pca_stands_in_zoo_compare_beside_a_trained_model(zoo, tmp_path):
    assert zoo("train", "pca", "--latent-dim", 4).exit_code == 0
    assert zoo("train", "linear-ae", "--latent-dim", 4, "--epochs", 1).exit_code == 0
    result = zoo("compare", "pca", "linear-ae", "-o", tmp_path / "c.html")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "c.json").read_text())
    assert [r["model"] for r in summary["runs"]] == ["pca", "linear-ae"]
