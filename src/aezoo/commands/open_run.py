"""Loading the run a command names, with an error that says how to make one when the model exists but has no run."""
from __future__ import annotations

from typing import Any

from aezoo.errors import AezooError


def load_run(ref: str, home: str | None = None) -> Any:
    """``aezoo.load(ref)``; for a known model with no saved run the error says ``zoo train MODEL``."""
    from aezoo.api import load
    from aezoo.plugins.manager import catalog
    from aezoo.registry import Registry
    from aezoo.registry.refs import UnknownRunError, split_ref

    try:
        return load(ref, home=home)
    except UnknownRunError as exc:
        model = split_ref(ref)[0]
        if model in catalog().models and not Registry(home).list(model):
            raise AezooError(f"no run of model {model!r} in {Registry(home).home} yet: train one with "
                             f"`zoo train {model}` (see `zoo runs` for the runs there are)") from exc
        raise


def open_run(ref: str, home: str | None = None, dataset: str | None = None, data_dir: str | None = None):
    """The model of run ``ref`` and the splits of its dataset (or ``dataset``)."""
    from aezoo.evaluate import run_splits

    model = load_run(ref, home)
    return model, run_splits(model, dataset, data_dir)
