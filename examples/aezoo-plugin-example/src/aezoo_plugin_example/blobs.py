"""The ``blobs`` dataset: grey images of one Gaussian blob each, the class being the quadrant it sits in."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from aezoo.data import RawData

CLASSES = ["top-left", "top-right", "bottom-left", "bottom-right"]
N_IMAGES, SIZE, SEED = 2000, 16, 0
SIGMA_RANGE = (1.0, 2.5)


def make_blobs(n: int = N_IMAGES, size: int = SIZE, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images (n, 1, size, size) and their int64 labels 0..3; the same arguments give the same arrays."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    half = size / 2
    row0 = np.where(labels >= 2, half, 0.0)  # bottom classes start half-way down
    col0 = np.where(labels % 2 == 1, half, 0.0)  # right classes start half-way across
    cy = row0 + rng.uniform(0.25, 0.75, n) * half
    cx = col0 + rng.uniform(0.25, 0.75, n) * half
    sigma = rng.uniform(*SIGMA_RANGE, n)
    grid = np.arange(size, dtype=np.float64) + 0.5
    dy = (grid[None, :] - cy[:, None]) ** 2  # (n, size)
    dx = (grid[None, :] - cx[:, None]) ** 2
    blobs = np.exp(-(dy[:, :, None] + dx[:, None, :]) / (2 * sigma[:, None, None] ** 2))
    return np.rint(blobs * 255.0).astype(np.uint8)[:, None], labels


def load_blobs(path: str | None = None, data_dir: Path | None = None, download: bool = False) -> RawData:
    """aezoo loader: 2000 16x16 blob images (generated, so ``path``, ``data_dir`` and ``download`` are unused)."""
    images, labels = make_blobs()
    return RawData(images, labels, classes=list(CLASSES))
