"""Evaluating a trained run on its held-out test split, saving the results into its metrics.json."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

from aezoo.core.evaluator import Evaluator
from aezoo.data import Split, Splits


def run_splits(model: Any, dataset: str | None = None, data_dir: str | None = None, download: bool = False) -> Splits:
    """The splits of the dataset a model was trained on (or ``dataset`` to look elsewhere)."""
    from aezoo.api.catalog import load_dataset

    config = model.run.config if getattr(model, "run", None) is not None else {}
    ref = dataset or config.get("dataset")
    if ref is None:
        raise ValueError("this model does not record its dataset: pass dataset=... (--dataset)")
    splits = load_dataset(ref, data_dir=data_dir or (None if dataset else config.get("data_dir")), download=download)
    if splits.input_shape != tuple(model.input_shape):
        raise ValueError(f"dataset {ref!r} has images of shape {splits.input_shape} but the model takes "
                         f"{tuple(model.input_shape)}; pick a dataset of the same shape")
    return splits


def first(split: Split, limit: int | None) -> Split:
    if limit is None or limit >= len(split):
        return split
    return Split(split.images[:limit], None if split.labels is None else split.labels[:limit])


def evaluate_model(model: Any, splits: Splits, iw_samples: int = 100, limit: int | None = None,
                   cache_dir: Path | None = None, n_per_class: int = 100, seed: int = 0) -> dict[str, Any]:
    """Test-split metrics (keys prefixed ``test_``) plus class-conditional generation consistency when the
    dataset has labels (``class_consistency``: per label and ``mean``)."""
    from aezoo.api.classifier import class_consistency

    raw = Evaluator(iw_samples=iw_samples, seed=seed).evaluate(model, first(splits.test, limit), splits.train)
    metrics = {f"test_{k}": v for k, v in raw.items()}
    metrics["test_dataset"] = splits.name
    if splits.has_labels and cache_dir is not None:
        metrics["class_consistency"] = class_consistency(model, splits, n_per_class, cache_dir, seed=seed)
    return metrics


def evaluate_and_save(model: Any, splits: Splits, iw_samples: int = 100, limit: int | None = None,
                      home: str | None = None, save: bool = True) -> dict[str, Any]:
    """Evaluate a loaded run on ``splits`` and (``save``, and only for a run of this registry: an exported folder
    is read-only) merge the results into its metrics.json."""
    from aezoo.registry import Registry

    registry = Registry(home)
    with tempfile.TemporaryDirectory(prefix="aezoo-eval-") as scratch:  # --no-save writes nothing to the home
        cache = registry.home / "cache" / "classifiers" if save else Path(scratch)
        metrics = evaluate_model(model, splits, iw_samples=iw_samples, limit=limit, cache_dir=cache)
    if save and in_registry(model, registry):
        registry.update_metrics(model.run.id, metrics)
    return metrics


def in_registry(model: Any, registry: Any) -> bool:
    """Whether ``model`` was loaded from ``registry`` (not from an exported folder)."""
    run = getattr(model, "run", None)
    return run is not None and Path(run.path).resolve().is_relative_to(Path(registry.home).resolve())


def evaluate_run(ref: str, dataset: str | None = None, data_dir: str | None = None, iw_samples: int = 100,
                 limit: int | None = None, home: str | None = None, save: bool = True) -> dict[str, Any]:
    """Load run ``ref``, evaluate it on its test split and (``save``) merge the results into its metrics.json."""
    from aezoo.api.load import load

    model = load(ref, home=home)
    splits = run_splits(model, dataset, data_dir)
    return evaluate_and_save(model, splits, iw_samples, limit, home, save)


def ensure_test_metrics(model: Any, splits: Splits, home: str | None, say: Callable[[str], None]) -> dict[str, Any]:
    """The run's metrics, with a test evaluation on ``splits`` added (and saved) when it has none."""
    from aezoo.registry import Registry
    from aezoo.viz.metrics import has_test_metrics

    metrics = dict(model.run.metrics)
    if has_test_metrics(metrics, splits.name):
        return metrics
    saving = in_registry(model, Registry(home))
    say(f"{model.run.id} has no test metrics on {splits.name}: evaluating it on the test split first"
        + (" (saved into its metrics.json, as `zoo eval` does)" if saving else ""))
    metrics.update(evaluate_and_save(model, splits, home=home, save=saving))
    return metrics
