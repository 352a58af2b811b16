"""In-memory datasets: images kept as one uint8 tensor (N, C, H, W), batches sliced and converted per batch
(on the device the batch goes to: uint8 crosses to a GPU, a quarter of the bytes of float32)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from aezoo.data.raw import RawData

SPLIT_SEED = 0  # splits depend on the data only, never on the training seed, so eval sees the same test set
MAX_VAL = 5000


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [0, 1]; float input passes through as float32."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


@dataclass
class Split:
    images: torch.Tensor  # uint8 (N, C, H, W), or float32 in [0, 1]
    labels: torch.Tensor | None = None  # int64 (N,)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
                start: int = 0, device: torch.device | str = "cpu",
                shard: tuple[int, int] = (0, 1)) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Float batches in [0, 1] with their labels; ``start`` skips that many batches (for resuming).
        ``shard=(rank, world)`` gives one process of ``world`` its share, as DistributedSampler does: every rank
        draws the same permutation, takes every ``world``-th index, and all ranks get equally many images."""
        rank, world = shard
        order = torch.randperm(len(self), generator=generator) if shuffle else None
        if world > 1:
            order = (order if order is not None else torch.arange(len(self)))[: len(self) // world * world]
            order = order[rank::world]
        if order is not None:
            order = order.to(self.images.device)  # images kept on an accelerator are sliced there
        n = len(order) if order is not None else len(self)
        for i in range(start * batch_size, n, batch_size):
            idx = order[i:i + batch_size] if order is not None else slice(i, i + batch_size)
            x = to_float(self.images[idx].to(device, non_blocking=True))  # move uint8, convert on arrival
            y = self.labels[idx] if self.labels is not None else None
            yield x, y

    def floats(self, limit: int | None = None) -> torch.Tensor:
        return to_float(self.images[:limit])


BINARIZE_SEED = 0  # a static binarisation depends on the images and this seed only
BINARIZE = ("none", "dynamic", "static")  # how pixels in [0, 1] become 0 or 1 for a Bernoulli likelihood


def binarized(split: Split, seed: int = BINARIZE_SEED, chunk: int = 8192) -> Split:
    """The split with every pixel drawn once as 0 or 255 with probability its intensity (a Bernoulli draw from a
    generator seeded by ``seed``): a static binarisation, the same each time for the same images and seed. Labels
    are kept; the images stay uint8."""
    generator = torch.Generator().manual_seed(seed)
    parts = [torch.bernoulli(to_float(split.images[i:i + chunk].cpu()), generator=generator).mul_(255).to(torch.uint8)
             for i in range(0, len(split), chunk)]
    images = torch.cat(parts) if parts else split.images.cpu().to(torch.uint8)
    return Split(images.to(split.images.device), split.labels)


@dataclass
class Splits:
    name: str
    train: Split
    val: Split
    test: Split
    classes: list[str] | None = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.train.images.shape[1:])  # type: ignore[return-value]

    @property
    def has_labels(self) -> bool:
        return self.train.labels is not None


def _split(images: np.ndarray, labels: np.ndarray | None, n_out: int, seed: int):
    order = np.random.default_rng(seed).permutation(len(images))
    out, keep = order[:n_out], np.sort(order[n_out:])
    pick = lambda a, i: None if a is None else a[i]  # noqa: E731
    return (images[keep], pick(labels, keep)), (images[np.sort(out)], pick(labels, np.sort(out)))


def _tensor(images: np.ndarray, labels: np.ndarray | None) -> Split:
    imgs = torch.from_numpy(np.ascontiguousarray(images))
    return Split(imgs, None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64)))


def make_splits(name: str, raw: RawData, test_fraction: float = 0.2, val_fraction: float = 0.1) -> Splits:
    """Held-out test split (the dataset's own, else a seeded ``test_fraction``) and a seeded validation split
    of ``val_fraction`` of the training data (at most 5000 images)."""
    images, labels = raw.train_images, raw.train_labels
    if images.ndim != 4:
        raise ValueError(f"dataset {name!r}: images must be (N, C, H, W), got shape {images.shape}")
    if raw.test_images is None:
        n_test = max(1, int(round(test_fraction * len(images))))
        (images, labels), (test_x, test_y) = _split(images, labels, n_test, SPLIT_SEED)
    else:
        test_x, test_y = raw.test_images, raw.test_labels
    n_val = max(1, min(MAX_VAL, int(round(val_fraction * len(images)))))
    (train_x, train_y), (val_x, val_y) = _split(images, labels, n_val, SPLIT_SEED + 1)
    return Splits(name, _tensor(train_x, train_y), _tensor(val_x, val_y), _tensor(test_x, test_y), raw.classes)
