"""Loading the run a command names, with an error that says how to make one when the model exists but has no run."""
from __future__ import annotations

from aezoo.api import load_run

__all__ = ["load_run", "open_run"]


def open_run(ref: str, home: str | None = None, dataset: str | None = None, data_dir: str | None = None):
    """The model of run ``ref`` and the splits of its dataset (or ``dataset``)."""
    from aezoo.evaluate import run_splits

    model = load_run(ref, home)
    return model, run_splits(model, dataset, data_dir)
