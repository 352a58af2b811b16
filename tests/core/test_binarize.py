"""Binarised training and evaluation, as the likelihood papers did: dynamic binarisation draws each training image
anew whenever it is seen, static draws it once with a fixed seed; validation and static evaluation use one fixed
draw; the evaluator's ELBO and IW-NLL are computed on the 0/1 pixels."""
from __future__ import annotations

import pytest
import torch

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.evaluator import Evaluator
from aezoo.core.interfaces import Objective
from aezoo.core.posteriors import GaussianPosterior
from aezoo.core.trainer import TrainConfig, Trainer
from aezoo.data.splits import Split, Splits, binarized
from aezoo.nets.mlp import MLPDecoder, MLPEncoder

SHAPE = (1, 4, 4)


class Recording(Objective):
    """Reconstruction loss; records every batch it sees, in training and validation."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[bool, torch.Tensor]] = []

    def forward(self, model, batch, step):
        self.seen.append((model.training, batch.x.detach().clone()))
        out = model(batch.inputs)
        return model.likelihood.nll(out.logits, batch.x), {}


def _grey_splits(n: int = 32) -> Splits:
    """Every pixel 0.5 (128/255): a fair coin per pixel when binarised."""
    images = torch.full((n, *SHAPE), 128, dtype=torch.uint8)
    return Splits("grey", Split(images), Split(images[:8]), Split(images))


def _seen(binarize: str, epochs: int = 2) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per epoch, the training images seen (sorted rows, so the shuffled order does not matter), and the
    validation images."""
    torch.manual_seed(0)
    objective = Recording()
    model = AutoEncoder(MLPEncoder(SHAPE, (8,), 2), MLPDecoder(SHAPE, (8,), 2), objective, SHAPE)
    Trainer(model, _grey_splits(), TrainConfig(epochs=epochs, batch_size=32, binarize=binarize)).fit()
    train = [x.flatten(1) for training, x in objective.seen if training]
    val = [x.flatten(1) for training, x in objective.seen if not training]
    return [t[torch.argsort(t @ (2.0 ** torch.arange(16)))] for t in train], val


def test_dynamic_binarisation_draws_the_training_images_anew_each_epoch_and_validates_on_one_draw():
    train, val = _seen("dynamic")
    assert all(set(x.unique().tolist()) == {0.0, 1.0} for x in train + val)
    assert not torch.equal(train[0], train[1])  # a new draw in every epoch
    assert torch.equal(val[0], val[1]) and torch.equal(val[0], binarized(_grey_splits().val).images.flatten(1) / 255)


def test_static_binarisation_draws_once_with_a_fixed_seed():
    train, val = _seen("static")
    assert set(train[0].unique().tolist()) == {0.0, 1.0}
    assert torch.equal(train[0], train[1])  # the same draw in every epoch
    fixed = binarized(_grey_splits().train).images.flatten(1).float() / 255
    assert torch.equal(train[0], fixed[torch.argsort(fixed @ (2.0 ** torch.arange(16)))])
    assert torch.equal(train[0], _seen("static", epochs=1)[0][0])  # and in another run


def test_no_binarisation_trains_on_grey_pixels_and_a_typo_is_refused():
    train, _ = _seen("none", epochs=1)
    assert train[0].unique().tolist() == [pytest.approx(128 / 255)]
    with pytest.raises(ValueError, match="unknown binarize 'dymanic'; choose one of none, dynamic, static"):
        TrainConfig(binarize="dymanic").check()


def test_the_evaluator_scores_binarised_pixels():
    torch.manual_seed(0)
    model = AutoEncoder(MLPEncoder(SHAPE, (8,), 2, gaussian=True), MLPDecoder(SHAPE, (8,), 2), Recording(), SHAPE,
                        posterior=GaussianPosterior(2))
    data = _grey_splits().test
    static = Evaluator(iw_samples=2, binarize="static").evaluate(model, data)
    by_hand = Evaluator(iw_samples=2).evaluate(model, binarized(data))
    assert static["binarize"] == "static" and static["neg_elbo"] == pytest.approx(by_hand["neg_elbo"], rel=1e-6)
    grey = Evaluator(iw_samples=2).evaluate(model, data)
    dynamic = Evaluator(iw_samples=2, binarize="dynamic").evaluate(model, data)
    assert dynamic["binarize"] == "dynamic" and dynamic["mse"] > grey["mse"] + 0.2 * 16  # each 0/1 pixel: +1/4
    assert dynamic["bce"] == Evaluator(iw_samples=2, binarize="dynamic").evaluate(model, data)["bce"]  # seeded
    with pytest.raises(ValueError, match="unknown binarization 'half'"):
        Evaluator(binarize="half").evaluate(model, data)
