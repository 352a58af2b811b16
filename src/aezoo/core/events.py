"""What the Trainer tells the outside world while it trains: progress bars, trackers (TensorBoard, MLflow) and
tests subscribe to these events. Every method is a no-op here; override the ones you need."""
from __future__ import annotations

from typing import Any, Sequence


class TrainingEvents:
    """Receives training events. ``wants_images``: the Trainer renders reconstructions each epoch for it."""

    wants_images = False

    def train_start(self, info: dict[str, Any]) -> None:
        """Once, before the first batch: ``info`` holds model, dataset, hyperparameters, train settings, precision."""

    def epoch_start(self, epoch: int, epochs: int, batches: int) -> None: ...

    def batch(self, loss: float, images: int) -> None:
        """After each batch: ``loss`` is the latest mean training loss read from the device (read every
        ``log_every`` batches, so it may be a few batches old), ``images`` the batch's size."""

    def step_metrics(self, step: int, metrics: dict[str, float]) -> None:
        """Every ``log_every`` optimiser steps: mean training loss and parts over those steps."""

    def epoch_end(self, record: dict[str, Any]) -> None:
        """After validation: the epoch's history record (``epoch``, ``train_*``, ``val_*``, ``seconds``)."""

    def images(self, name: str, images: Any, epoch: int) -> None:
        """An image grid as a float tensor (N, C, H, W) in [0, 1], e.g. validation originals above reconstructions."""

    def checkpoint(self, epoch: int, path: str) -> None:
        """A checkpoint (or, at the end, the saved run) was written to ``path``."""

    def train_end(self, summary: dict[str, Any]) -> None:
        """Once, when training finished or stopped: ``status`` ("finished", "interrupted", "failed") and metrics."""


class Fanout(TrainingEvents):
    """Sends every event to each of several receivers, in order."""

    def __init__(self, receivers: Sequence[TrainingEvents]):
        self.receivers = list(receivers)
        self.wants_images = any(r.wants_images for r in self.receivers)


def _fan(name: str):
    def send(self: Fanout, *args: Any, **kwargs: Any) -> None:
        for receiver in self.receivers:
            getattr(receiver, name)(*args, **kwargs)

    return send


EVENTS = tuple(n for n, v in vars(TrainingEvents).items() if callable(v) and not n.startswith("_"))
for _name in EVENTS:
    setattr(Fanout, _name, _fan(_name))
