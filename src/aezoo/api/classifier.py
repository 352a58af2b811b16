"""A small pixel classifier trained on real images, cached without pickle, used to score generated samples."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from aezoo.data.splits import Split, Splits, to_float

CACHE_VERSION = "logreg-v1"
MAX_SIDE = 14  # images with a larger side are average-pooled down to at most this side before classifying
MAX_TRAIN = 10_000


def pool_factor(height: int, width: int) -> int:
    """The average-pooling factor that brings the longer side to at most MAX_SIDE."""
    return max(1, -(-max(height, width) // MAX_SIDE))


def features(images: torch.Tensor, pool: int) -> np.ndarray:
    """Flattened, average-pooled float pixels (N, features) of images (N, C, H, W), uint8 or float."""
    x = to_float(images)
    if pool > 1:
        x = F.avg_pool2d(x, pool, ceil_mode=True)
    return x.flatten(1).cpu().numpy().astype(np.float64)


@dataclass
class PixelClassifier:
    """Multinomial logistic regression on standardised pooled pixels: plain arrays, no pickle."""

    coef: np.ndarray  # (classes, features); one row for a binary problem, as sklearn stores it
    intercept: np.ndarray  # (classes,)
    classes: np.ndarray  # (classes,) int64 labels
    mean: np.ndarray  # (features,)
    scale: np.ndarray  # (features,)
    pool: int
    train_accuracy: float = float("nan")

    def scores(self, images: torch.Tensor) -> np.ndarray:
        """Class scores (N, classes) for images (N, C, H, W); two columns for a binary problem."""
        scores = ((features(images, self.pool) - self.mean) / self.scale) @ self.coef.T + self.intercept
        if scores.shape[1] == 1:  # binary: sklearn keeps one score, positive for classes[1]
            return np.column_stack([-scores[:, 0] / 2, scores[:, 0] / 2])
        return scores

    def predict(self, images: torch.Tensor) -> np.ndarray:
        """Predicted labels (N,) for images (N, C, H, W)."""
        return self.classes[self.scores(images).argmax(1)]

    def probabilities(self, images: torch.Tensor) -> np.ndarray:
        """Class probabilities (N, classes), columns in the order of ``classes``."""
        from scipy.special import softmax

        return softmax(self.scores(images), axis=1)

    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        return float((self.predict(images) == np.asarray(labels)).mean())

    def save(self, path: Path) -> None:
        np.savez(path, coef=self.coef, intercept=self.intercept, classes=self.classes, mean=self.mean,
                 scale=self.scale, pool=np.int64(self.pool), train_accuracy=np.float64(self.train_accuracy))

    @classmethod
    def load(cls, path: Path) -> PixelClassifier:
        with np.load(path, allow_pickle=False) as f:
            return cls(f["coef"], f["intercept"], f["classes"], f["mean"], f["scale"], int(f["pool"]),
                       float(f["train_accuracy"]))


def data_hash(split: Split) -> str:
    """SHA-256 of the images, labels and classifier settings: the cache key."""
    h = hashlib.sha256(f"{CACHE_VERSION}:{MAX_SIDE}:{MAX_TRAIN}:{tuple(split.images.shape)}".encode())
    h.update(split.images.contiguous().numpy().tobytes())
    h.update(split.labels.numpy().astype(np.int64).tobytes())
    return h.hexdigest()


def train_classifier(split: Split, seed: int = 0) -> PixelClassifier:
    """Fit the logistic regression on (at most MAX_TRAIN, seeded) labelled images of ``split``."""
    from sklearn.linear_model import LogisticRegression

    if split.labels is None:
        raise ValueError("training a classifier needs labelled images")
    images, labels = split.images, split.labels.numpy()
    if len(images) > MAX_TRAIN:
        keep = np.sort(np.random.default_rng(seed).choice(len(images), MAX_TRAIN, replace=False))
        images, labels = images[torch.from_numpy(keep)], labels[keep]
    pool = pool_factor(*images.shape[2:])
    x = features(images, pool)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-8] = 1.0
    clf = LogisticRegression(max_iter=500, C=0.5).fit((x - mean) / scale, labels)
    classifier = PixelClassifier(clf.coef_, clf.intercept_, clf.classes_.astype(np.int64), mean, scale, pool)
    classifier.train_accuracy = classifier.accuracy(images, labels)
    return classifier


def train_or_load_classifier(split: Split, cache_dir: Path) -> PixelClassifier:
    """The classifier for ``split``, loaded from ``cache_dir`` when one was trained on the same data."""
    if split.labels is None:
        raise ValueError("training a classifier needs labelled images")
    cache_dir = Path(cache_dir)
    path = cache_dir / f"classifier-{data_hash(split)[:20]}.npz"
    if path.exists():
        return PixelClassifier.load(path)
    classifier = train_classifier(split)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    classifier.save(tmp)
    tmp.replace(path)
    return classifier


def class_consistency(model: Any, splits: Splits, n_per_class: int, cache_dir: Path,
                      seed: int = 0) -> dict[str, float]:
    """Per label (as a string key), the fraction of images generated for that class that the pixel classifier
    assigns to the label; ``'mean'`` averages over labels. A conditional model is given the label; any other
    model's images come from a Gaussian fitted to the class's latent codes."""
    from aezoo.core.sampling import fit_class_gaussians, generate_class
    from aezoo.viz.views import class_generator

    if not splits.has_labels:
        raise ValueError(f"dataset {splits.name!r} has no labels: class consistency needs them")
    classifier = train_or_load_classifier(splits.train, cache_dir)
    train = splits.train
    if len(train) > MAX_TRAIN:
        keep = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(len(train), MAX_TRAIN, replace=False)))
        train = Split(train.images[keep], train.labels[keep])
    if model.conditional:
        draw, _ = class_generator(model, splits, seed)
        labels = sorted(set(train.labels.tolist()))
    else:
        stats = fit_class_gaussians(model, to_float(train.images), train.labels)
        draw, labels = (lambda c, n, g: generate_class(model, stats, c, n, g)), sorted(stats)
    generator = torch.Generator().manual_seed(seed)
    result = {}
    for label in labels:
        images = draw(label, n_per_class, generator).cpu()
        result[str(label)] = float((classifier.predict(images) == label).mean())
    result["mean"] = float(np.mean(list(result.values()))) if result else float("nan")
    return result
