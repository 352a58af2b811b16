"""What the Trainer tells the outside world while it trains: progress bars, trackers (TensorBoard, MLflow) and
tests subscribe to these events. Every method is a no-op here; override the ones you need.

``ConsoleProgress`` is the receiver people see: one bar for the whole run (tqdm.auto: a widget in notebooks),
then a few summary lines; without a terminal, an epoch line now and then (first, last, and at most every
``every`` s). The full history goes into the run (history.json), not onto the screen."""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, Sequence, TextIO


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
        """Once, when training finished or stopped: ``status`` ("finished", "interrupted", "failed") and metrics;
        when finished also ``warnings`` (e.g. posterior collapse, see ``aezoo.core.diagnosis``)."""


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


def _format(record: dict[str, Any]) -> str:
    keys = [k for k in record if k.startswith(("train_", "val_"))]
    return " ".join(f"{k}={record[k]:.4f}" for k in keys)


def _interactive(stream: TextIO) -> bool:
    """A terminal, or a Jupyter kernel (whose stderr is no tty but shows widgets)."""
    return stream.isatty() or "ipykernel" in sys.modules


class ConsoleProgress(TrainingEvents):
    def __init__(self, stream: TextIO | None = None, echo: Callable[[str], None] | None = None, every: float = 10.0):
        self.stream = stream or sys.stderr
        self.echo = echo or (lambda line: print(line, file=self.stream, flush=True))
        self.tty = _interactive(self.stream)
        self.every, self.printed = every, -float("inf")
        self.bar, self.record, self.epochs, self.n = None, None, 0, 0
        self.closed_form = False

    def train_start(self, info: dict[str, Any]) -> None:
        self.closed_form = bool(info.get("closed_form"))  # fitted once (PCA): no epochs, no progress bar

    def epoch_start(self, epoch: int, epochs: int, batches: int) -> None:
        self.epochs = epochs
        if self.tty and self.bar is None and not self.closed_form:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs * batches, initial=(epoch - 1) * batches, unit="batch", file=self.stream,
                            mininterval=0.25, dynamic_ncols=True, leave=True)
        if self.bar is not None:
            self.bar.set_description(f"epoch {epoch}/{epochs}", refresh=False)

    def batch(self, loss: float, images: int) -> None:
        if self.bar is not None:
            self.n += 1
            self.bar.update(1)
            if self.n % 10 == 0 and loss == loss:  # NaN until the first read from the device
                rate = self.bar.format_dict["rate"] or 0
                self.bar.set_postfix(loss=f"{loss:.3f}", batch_s=f"{rate:.0f}", refresh=False)

    def epoch_end(self, record: dict[str, Any]) -> None:
        self.record = record
        if self.closed_form:
            self.echo(f"fitted in closed form on the training images (no epochs): {_format(record)}")
            return
        if self.bar is not None:
            if "val_loss" in record:
                self.bar.set_postfix(loss=f"{record.get('train_loss', 0):.3f}", val_loss=f"{record['val_loss']:.3f}",
                                     refresh=False)
            return
        now = time.monotonic()
        if record["epoch"] in (1, self.epochs) or now - self.printed >= self.every:
            self.printed = now
            self.echo(f"epoch {record['epoch']}/{self.epochs} {_format(record)} (elapsed {record['seconds']:.1f} s)")

    def train_end(self, summary: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if summary.get("status") != "finished":
            return
        if "fitted" in summary:
            self.echo(f"fitted in {summary['fitted']} in {summary['train_seconds']:.1f} s")
            return
        line = (f"trained {summary['epochs_trained']} epochs in {summary['train_seconds']:.1f} s "
                f"({summary['images_per_second']:.0f} images/s, {summary['precision']}")
        if "compile_seconds" in summary:
            line += f", of which compiling {summary['compile_seconds']:.1f} s"
        self.echo(line + ("; stopped early)" if summary.get("stopped_early") else ")"))
        if self.record is not None and "val_loss" in summary:
            self.echo(f"best val_loss {summary['val_loss']:.4f} at epoch {summary['best_epoch']}; "
                      f"last epoch: {_format(self.record)}")
        if "profile_seconds" in summary:
            self.echo(profile_table(summary["profile_seconds"]))
        for warning in summary.get("warnings", ()):
            self.echo(f"warning: {warning}")


def profile_table(seconds: dict[str, float]) -> str:
    """Where training time went, one phase a line with its share."""
    total = sum(seconds.values()) or 1e-9
    rows = [f"  {phase:<12} {s:8.2f} s  {100 * s / total:5.1f} %" for phase, s in seconds.items()]
    return "\n".join(["time per phase (--profile):", *rows])
