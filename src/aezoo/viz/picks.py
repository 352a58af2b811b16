"""Which test images a figure shows by default: seeded, spread across classes, the same for every run of a dataset.

Taking the first N test images shows one class on data stored sorted by label; a seeded pick that goes round the
classes (one image per class, then a second per class, ...) shows them all, and depends only on the data and the
seed, so two runs of the same dataset are shown the same images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

PICK_SEED = 0


@dataclass(frozen=True)
class Picks:
    """Indices into a test split, with their labels (None for unlabelled data) and class names."""

    indices: list[int]
    labels: list[int] | None
    classes: Sequence[str] | None = None

    def names(self) -> list[str]:
        """The class name of each pick ("" for unlabelled data)."""
        if self.labels is None:
            return ["" for _ in self.indices]
        return [class_name(label, self.classes) for label in self.labels]

    def describe(self) -> str:
        """One line for the terminal: ``test images 12 (3), 40 (7), ...``."""
        if self.labels is None:
            return "test images " + ", ".join(map(str, self.indices))
        return "test images " + ", ".join(f"{i} ({n})" for i, n in zip(self.indices, self.names()))

    def as_dict(self) -> dict[str, Any]:
        return {"test_images": list(self.indices), "labels": self.labels,
                "classes": None if self.labels is None else self.names()}


def class_name(label: int, classes: Sequence[str] | None) -> str:
    """The name of class ``label`` (the label itself when the dataset names no classes)."""
    return str(classes[label]) if classes is not None and 0 <= label < len(classes) else str(label)


def spread(labels: torch.Tensor | np.ndarray | None, n: int, total: int, seed: int = PICK_SEED) -> list[int]:
    """``n`` distinct indices of ``total`` images, seeded: round-robin over the classes in label order (each
    class's images in a seeded order), or a seeded permutation when there are no labels."""
    rng = np.random.default_rng(seed)
    n = min(int(n), int(total))
    if labels is None:
        return [int(i) for i in rng.permutation(total)[:n]]
    labels = np.asarray(labels)
    queues = [list(rng.permutation(np.flatnonzero(labels == c))) for c in np.unique(labels)]
    out: list[int] = []
    while len(out) < n:
        for queue in queues:
            if queue and len(out) < n:
                out.append(int(queue.pop(0)))
    return out


def pick(split: Any, n: int, classes: Sequence[str] | None = None, seed: int = PICK_SEED) -> Picks:
    """The default ``n`` images of ``split`` (an aezoo Split) to show."""
    indices = spread(split.labels, n, len(split), seed)
    labels = None if split.labels is None else [int(split.labels[i]) for i in indices]
    return Picks(indices, labels, classes)


def chosen(split: Any, indices: Sequence[int], classes: Sequence[str] | None = None) -> Picks:
    """Picks for indices a user gave, checked against the split's size."""
    total = len(split)
    for index in indices:
        if not 0 <= int(index) < total:
            raise ValueError(f"image index {index} is out of range: the test split has {total} images "
                             f"(0..{total - 1})")
    labels = None if split.labels is None else [int(split.labels[int(i)]) for i in indices]
    return Picks([int(i) for i in indices], labels, classes)


def pairs(split: Any, n: int, classes: Sequence[str] | None = None, seed: int = PICK_SEED) -> list[Picks]:
    """``n`` pairs of images for interpolations: consecutive default picks, so of two different classes
    whenever the data has two or more (the picks go round the classes)."""
    first = pick(split, 2 * n, classes, seed).indices
    return [chosen(split, first[2 * i:2 * i + 2], classes) for i in range(len(first) // 2)]
