"""Several models side by side: latent maps share their axes (so a wide code range looks wide), and the same
N(0, I) draws are decoded by every model, each row saying whether the model was trained to make them meaningful."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from aezoo.api.build import create_model
from aezoo.viz import side_by_side, views


def build(name: str, scale: float = 1.0, **hp):
    torch.manual_seed(0)
    model = create_model(name, input_shape=(1, 8, 8), **hp).eval()
    if scale != 1.0:  # stretch the codes: an autoencoder whose codes span a wide range
        head = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
        with torch.no_grad():
            head.weight.mul_(scale)
            head.bias.mul_(scale)
    return model


def test_latent_maps_share_axes_that_hold_every_models_codes(digits):
    wide, narrow = build("conv-ae", scale=40.0, latent_dim=2), build("conv-vae", latent_dim=2)
    fig = side_by_side.latent_maps([wide, narrow], digits, labels=["wide", "narrow"], limit=200)
    axes = fig.axes[:2]
    assert [ax.get_title() for ax in axes] == ["wide", "narrow"]
    assert axes[0].get_xlim() == axes[1].get_xlim() and axes[0].get_ylim() == axes[1].get_ylim()
    for model in (wide, narrow):
        codes = views.encode_test(model, digits, 200)[0].numpy()
        (x0, x1), (y0, y1) = axes[0].get_xlim(), axes[0].get_ylim()
        assert x0 <= codes[:, 0].min() and codes[:, 0].max() <= x1 and y0 <= codes[:, 1].min() <= codes[:, 1].max() <= y1
    spans = {k: v["span"] for k, v in fig.info["runs"].items()}
    assert spans["wide"] > 5 * spans["narrow"]
    assert fig.info["plane"] == "the 2-D codes themselves" and axes[0].get_xlabel() == "z1"


def test_higher_dimensional_codes_share_one_pca_fitted_on_all_of_them(digits):
    fig = side_by_side.latent_maps([build("conv-ae", latent_dim=6), build("conv-vae", latent_dim=6)], digits,
                                   limit=100)
    assert fig.info["plane"].startswith("PCA fitted on all the runs' codes together")
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim() and fig.axes[0].get_xlabel().startswith("PC 1")
    mixed = side_by_side.latent_maps([build("conv-ae", latent_dim=6), build("conv-vae", latent_dim=2)], digits,
                                     limit=100)
    assert mixed.info["plane"].startswith("each run's own PCA")


def test_pca_keeps_the_origin_and_the_units():
    codes = np.random.default_rng(0).normal(size=(200, 4)) * [5, 1, 0.1, 0.1] + [30, 0, 0, 0]
    (xy,), _ = side_by_side.draw.pca_plane([codes])
    assert np.linalg.norm(xy, axis=1) == pytest.approx(np.linalg.norm(codes[:, :2], axis=1), rel=0.05)


def test_shared_axes_refuse_tsne():
    with pytest.raises(ValueError, match="cannot share axes"):
        side_by_side.shared_plane([np.zeros((5, 3))], method="tsne")


def test_prior_samples_say_which_models_were_trained_for_n01():
    models = [build("conv-ae", latent_dim=2), build("conv-vae", latent_dim=2), build("vq-vae"),
              build("conv-vae", latent_dim=2, beta=0.0), build("gumbel-vae", latent_dim=2, categories=3)]
    fig = side_by_side.prior_samples(models, n=4, labels=["ae", "vae", "vq", "beta0", "gumbel"])
    notes = fig.info["runs"]
    assert notes["ae"] == {"trained_for_it": False, "note": side_by_side.NOT_TRAINED_FOR_IT}
    assert notes["vae"]["trained_for_it"] is True and notes["beta0"]["trained_for_it"] is False
    assert list(fig.info["left_out"]) == ["vq", "gumbel"] and len(fig.axes) == 3
    assert "one-hot" in fig.info["left_out"]["gumbel"]
    titles = [" ".join(ax.get_title(loc="left").split()) for ax in fig.axes]
    assert titles[0] == "ae " + side_by_side.NOT_TRAINED_FOR_IT


def test_prior_samples_decode_the_same_draws_for_every_model():
    a, b = build("conv-vae", latent_dim=2), build("conv-ae", latent_dim=2)
    seen = []
    for model in (a, b):
        decode = model.decode
        model.decode = lambda z, decode=decode: (seen.append(z.clone()), decode(z))[1]
    side_by_side.prior_samples([a, b], n=5, seed=3)
    assert torch.equal(seen[0], seen[1]) and seen[0].shape == (5, 2)
    assert seen[0].std() > 0.5  # N(0, I) draws, not a fitted Gaussian
