"""The embedded ``digits`` source and the checks every loader's RawData must pass before splitting."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from aezoo.data.raw import RawData
from aezoo.errors import DatasetError

DIGITS_MAX = 16  # scikit-learn's 8x8 digits hold integers 0..16


def load_digits(path: str | None = None, data_dir: Path | None = None, download: bool = False) -> RawData:
    """scikit-learn's 8x8 handwritten digits (1797 images, ships with scikit-learn), scaled to uint8 0..255."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.rint(np.asarray(bunch.images, dtype=np.float64) * 255.0 / DIGITS_MAX).astype(np.uint8)
    return RawData(images[:, None], np.asarray(bunch.target, dtype=np.int64), classes=[str(i) for i in range(10)])


def _check_part(source: str, part: str, images: np.ndarray | None, labels: np.ndarray | None) -> None:
    if images is None:
        if labels is not None:
            raise DatasetError(f"dataset {source!r}: {part} labels given without {part} images")
        return
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4 or len(images) == 0:
        desc = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        raise DatasetError(f"dataset {source!r}: the loader returned {part} images as {desc}; "
                           "loaders must return a non-empty uint8 numpy array (N, C, H, W)")
    if labels is not None and (np.ndim(labels) != 1 or len(labels) != len(images)):
        raise DatasetError(f"dataset {source!r}: {len(images)} {part} images but labels of shape "
                           f"{np.shape(labels)}; expected ({len(images)},)")


def check_raw(source: str, raw: object) -> RawData:
    """Make sure a loader (perhaps a plugin's) returned usable RawData; raise DatasetError saying what is off."""
    if not isinstance(raw, RawData):
        raise DatasetError(f"dataset {source!r}: the loader returned {type(raw).__name__}, "
                           "expected aezoo.data.RawData")
    _check_part(source, "train", raw.train_images, raw.train_labels)
    _check_part(source, "test", raw.test_images, raw.test_labels)
    if raw.test_images is not None and raw.test_images.shape[1:] != raw.train_images.shape[1:]:
        raise DatasetError(f"dataset {source!r}: test images are {raw.test_images.shape[1:]} but train images "
                           f"are {raw.train_images.shape[1:]} (C, H, W)")
    needed = 2 if raw.test_images is not None else 3
    if len(raw.train_images) < needed:
        raise DatasetError(f"dataset {source!r} has {len(raw.train_images)} training images; at least {needed} "
                           "are needed to split off validation" + (" and test" if needed == 3 else "") + " data")
    return raw
