"""The numbers the lesson's sentences carry, each computed from a run and the test split: reconstruction errors,
how far codes spread and how much of them N(0, I) covers, what a pixel classifier sees in decoded draws, what the
KL term did, how well a 2-D map keeps neighbours and distances, and how a blend between two classes moves."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from aezoo.core import sampling as generate

PRIOR_MASS = 0.95  # the N(0, I) region codes are tested against: the ball holding this share of its draws
NEIGHBOURS = 10


def reconstruction_mse(model: Any, x: torch.Tensor) -> float:
    """Per-pixel mean squared error of the model's reconstructions of ``x`` (values in [0, 1])."""
    from aezoo.core.evaluator import inference, model_device

    with inference(model):
        out = torch.cat([model.reconstruct(x[i:i + 512].to(model_device(model))).cpu()
                         for i in range(0, len(x), 512)])
    return float((out.double() - x.double()).pow(2).mean())


def extent(codes: torch.Tensor, coverage: float = 0.98) -> tuple[np.ndarray, np.ndarray]:
    """Per latent dimension, the central ``coverage`` of the codes: (1st percentile, 99th percentile)."""
    a = np.asarray(codes, dtype=np.float64)
    tail = 100 * (1 - coverage) / 2
    return np.percentile(a, tail, axis=0), np.percentile(a, 100 - tail, axis=0)


def mean_span(codes: torch.Tensor) -> float:
    """The width of the region the codes occupy (1st to 99th percentile), averaged over the dimensions."""
    low, high = extent(codes)
    return float(np.mean(high - low))


def share_inside_prior(codes: torch.Tensor, mass: float = PRIOR_MASS) -> float:
    """The share of codes inside the ball around 0 that holds ``mass`` of N(0, I)'s draws."""
    from scipy.stats import chi2

    a = np.asarray(codes, dtype=np.float64)
    return float((np.square(a).sum(1) <= chi2.ppf(mass, a.shape[1])).mean())


def effective_classes(predicted: np.ndarray, n_classes: int) -> float:
    """exp(entropy) of the predicted classes' histogram: n_classes when every class is as frequent, 1 when all
    images are one class (the perplexity of the labels a classifier gives)."""
    counts = np.bincount(np.asarray(predicted, dtype=np.int64), minlength=n_classes).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def knn_agreement(points: np.ndarray, labels: np.ndarray, k: int = NEIGHBOURS) -> float:
    """The share of each point's ``k`` nearest neighbours (itself left out) that have its label, on average."""
    from sklearn.neighbors import NearestNeighbors

    points, labels = np.asarray(points, dtype=np.float64), np.asarray(labels)
    k = min(k, len(points) - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    return float((labels[idx[:, 1:]] == labels[:, None]).mean())


def distance_correlation(codes: np.ndarray, mapped: np.ndarray) -> float:
    """Spearman correlation between the pairwise distances of the codes and those of their 2-D map: 1 when
    the map keeps the order of all distances, near 0 when far and near are mixed up."""
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    return float(spearmanr(pdist(np.asarray(codes, np.float64)), pdist(np.asarray(mapped, np.float64)))[0])


def kl_and_reconstruction(model: Any, split: Any) -> dict[str, Any]:
    """Test KL (nats per image), reconstruction term (-log p(x|z) at the code, nats per image), squared error,
    active units, and whether the posterior collapsed, from the evaluator and the collapse rule `zoo eval` uses."""
    from aezoo.core.diagnosis import collapse_warning
    from aezoo.core.evaluator import Evaluator

    m = Evaluator(iw_samples=1).evaluate(model, split)
    return {"kl": m.get("kl"), "rec": m["rec_nll"], "mse_sum": m["mse"], "active_units": m["active_units"],
            "latent_dim": model.latent_dim, "collapsed": collapse_warning(m) is not None}


def class_means(model: Any, images: torch.Tensor, labels: torch.Tensor) -> dict[int, torch.Tensor]:
    """Per class, the mean code of its images."""
    codes = generate.encode_all(model, images)
    labels = torch.as_tensor(labels)
    return {int(c): codes[labels == c].mean(0) for c in torch.unique(labels).tolist()}


def blend(model: Any, za: torch.Tensor, zb: torch.Tensor, steps: int) -> torch.Tensor:
    """Images decoded along the straight line from code ``za`` to code ``zb`` (both ends included)."""
    from aezoo.core.evaluator import inference, model_device

    path = generate.latent_path(za, zb, steps)
    with inference(model):
        return model.decode(path.to(model_device(model))).cpu()


def switch_step(probabilities: np.ndarray, a: int, b: int) -> int | None:
    """The first step (1-based) at which the classifier gives class ``b`` more probability than ``a``."""
    later = np.flatnonzero(probabilities[:, b] > probabilities[:, a])
    return int(later[0]) + 1 if len(later) else None


def ratio(a: float, b: float) -> float:
    """a / b, infinite when b is 0 and a is not."""
    return a / b if b else (math.inf if a else 1.0)


def monotone(values: Sequence[float], rising: bool) -> bool:
    """Whether ``values`` never fall (``rising``) or never rise."""
    pairs = list(zip(values, values[1:]))
    return all(b >= a for a, b in pairs) if rising else all(b <= a for a, b in pairs)
