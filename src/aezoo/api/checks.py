"""What a user names, checked without importing torch or loading data: run references, dataset references and
checkpoint keys. Commands call these first, so a typo fails in a fraction of a second."""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from aezoo.errors import AezooError, DatasetError, UnknownNameError


def find_run(ref: str, home: str | None = None) -> dict[str, Any]:
    """The config of run ``ref`` (a registry reference, or a folder written by ``zoo export``, verified); for a
    known model with no saved run the error says ``zoo train MODEL``."""
    from aezoo.api.load import names_a_qualified_model
    from aezoo.api.share import shared_dataset
    from aezoo.plugins.manager import catalog
    from aezoo.registry import Registry
    from aezoo.registry.export import is_export_path, read_export
    from aezoo.registry.refs import UnknownRunError, split_ref

    if is_export_path(ref) and not names_a_qualified_model(ref, home):  # as aezoo.load tells them apart
        config = read_export(ref).config
        return {**config, "dataset": shared_dataset(config.get("dataset"))}  # the dataset loading it keeps
    registry = Registry(home)
    try:
        return registry.get(ref).config
    except UnknownRunError as exc:
        model, models = split_ref(ref)[0], sorted(catalog().models)
        if (model in models or model in catalog().qualified) and not registry.list(model):
            raise AezooError(f"no run of model {model!r} in {registry.home} yet: train one with "
                             f"`zoo train {model}` (see `zoo runs` for the runs there are)") from exc
        close = difflib.get_close_matches(model, models, n=1)
        if close and not registry.list(close[0]):  # a mistyped model name that the runs' names cannot suggest
            raise UnknownRunError(f"{exc}; did you mean model {close[0]!r}? it has no saved run yet: train one "
                                  f"with `zoo train {close[0]}`") from exc
        raise


def check_dataset(ref: str) -> None:
    """The data source is registered and takes a path exactly when it needs one; for aezoo's own file sources
    (``npz:PATH``, ``folder:PATH``) the path exists."""
    from aezoo.api.catalog import parse_dataset_ref

    spec, path = parse_dataset_ref(ref)
    if path is None or spec.plugin != "builtin" or Path(path).exists():
        return
    kind = {"npz": "file", "folder": "folder"}.get(spec.name, "file or folder")
    raise DatasetError(f"no such {kind}: {path} (dataset {ref!r})")


def check_checkpoint(registry: Any, key: str) -> None:
    """A checkpoint key to resume from must name a checkpoint in the registry."""
    known = [p.name for p in registry.list_checkpoints()]
    if key not in known:
        raise UnknownNameError("checkpoint", key, known)
