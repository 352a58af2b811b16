"""RawData: what a dataset loader returns (numpy only, so loaders need not import torch)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RawData:
    """What a dataset loader returns: uint8 arrays (N, C, H, W), labels (N,) or None, optional test part."""

    train_images: np.ndarray
    train_labels: np.ndarray | None = None
    test_images: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    classes: list[str] | None = None
