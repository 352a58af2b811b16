"""Training progress for people: a tqdm bar on a terminal, one plain line per epoch otherwise."""
from __future__ import annotations

import sys
from typing import Any, Callable, TextIO

from aezoo.core.trainer import Progress


def _format(record: dict[str, Any]) -> str:
    keys = [k for k in record if k.startswith(("train_", "val_"))]
    return " ".join(f"{k}={record[k]:.4f}" for k in keys)


class ConsoleProgress(Progress):
    def __init__(self, stream: TextIO | None = None, echo: Callable[[str], None] | None = None):
        self.stream = stream or sys.stderr
        self.echo = echo or (lambda line: print(line, file=self.stream, flush=True))
        self.tty = self.stream.isatty()
        self.bar = None

    def epoch_start(self, epoch: int, epochs: int, batches: int) -> None:
        self.epoch, self.epochs = epoch, epochs
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", unit="batch", file=self.stream,
                            leave=False, mininterval=0.25, dynamic_ncols=True)
            self.images, self.n, self.loss = 0, 0, 0.0

    def batch(self, loss: float, images: int) -> None:
        if self.bar is not None:
            self.n += 1
            self.loss += loss
            self.images += images
            self.bar.update(1)
            if self.n % 10 == 0:
                rate = self.images / max(self.bar.format_dict["elapsed"], 1e-9)
                self.bar.set_postfix(loss=f"{self.loss / self.n:.3f}", img_s=f"{rate:.0f}", refresh=False)

    def epoch_end(self, record: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.echo(f"epoch {record['epoch']}/{self.epochs} {_format(record)} ({record['seconds']:.1f} s)")
