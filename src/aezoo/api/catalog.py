"""The Python API that wires plugins, core and registry together."""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import TYPE_CHECKING

from aezoo.errors import DatasetError
from aezoo.plugins.manager import catalog
from aezoo.plugins.specs import DatasetSpec, ModelSpec

if TYPE_CHECKING:
    from aezoo.data.splits import Splits


def list_models(pattern: str | None = None) -> list[str]:
    """Names of the registered models, sorted: plain names, and ``PLUGIN/MODEL`` for a model whose plain name
    reaches another plugin's; ``pattern`` filters with shell wildcards (``'*vae'``, matching the plain name too)."""
    names = sorted([*catalog().models, *catalog().shadowed_names()])
    return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)
            or fnmatch.fnmatch(n.rpartition("/")[2], pattern)]


def model_spec(name: str) -> ModelSpec:
    """The registration of model ``name`` (a plain name or ``PLUGIN/MODEL``); raises UnknownModelError listing the
    valid names."""
    return catalog().model(name)


def shadow_warning(name: str) -> None:
    """Warn (AezooWarning) when a plain model name is also another plugin's model's name, naming what it reaches."""
    import warnings

    from aezoo.errors import AezooWarning

    text = catalog().shadowing(name)
    if text:
        warnings.warn(text, AezooWarning, stacklevel=3)


def list_datasets(pattern: str | None = None) -> list[str]:
    """Names of the registered data sources, sorted; ``pattern`` filters with shell wildcards."""
    names = sorted(catalog().datasets)
    return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]


def dataset_spec(name: str) -> DatasetSpec:
    """The registration of data source ``name``; raises UnknownDatasetError listing the valid names."""
    return catalog().dataset(name)


def parse_dataset_ref(ref: str) -> tuple[DatasetSpec, str | None]:
    """``'NAME'`` or ``'NAME:PATH'`` -> (spec, absolute path or None), checking the path matches the source."""
    name, sep, path = str(ref).strip().partition(":")
    spec = dataset_spec(name.strip().lower())
    if spec.takes_path and not path.strip():
        raise DatasetError(f"dataset {spec.name!r} reads your files: give a path, e.g. '{spec.name}:PATH'")
    if not spec.takes_path and sep:
        with_path = ", ".join(n for n, s in sorted(catalog().datasets.items()) if s.takes_path) or "none"
        raise DatasetError(f"dataset {spec.name!r} takes no path (got {ref!r}): use plain '{spec.name}', "
                           f"or one of the sources that read your files: {with_path} (e.g. 'npz:PATH')")
    return spec, os.path.abspath(Path(path.strip()).expanduser()) if spec.takes_path else None


def load_dataset(ref: str, data_dir: str | os.PathLike | None = None, download: bool = False) -> "Splits":
    """Load ``ref`` (``'digits'``, ``'mnist'``, ``'npz:PATH'``, ``'folder:PATH'``, ...) as train/val/test Splits.

    ``data_dir`` holds local dataset files; ``download=True`` lets torchvision fetch missing ones.
    """
    from aezoo.data.sources import check_raw
    from aezoo.data.splits import Splits, make_splits

    spec, path = parse_dataset_ref(ref)
    name = f"{spec.name}:{path}" if path is not None else spec.name
    root = Path(data_dir).expanduser() if data_dir is not None else None
    loaded = spec.load(path=path, data_dir=root, download=bool(download))
    if isinstance(loaded, Splits):  # a plugin may split its data itself
        return loaded
    return make_splits(name, check_raw(name, loaded))
