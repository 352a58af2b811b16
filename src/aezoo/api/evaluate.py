"""Evaluating a trained run on its held-out test split, saving the results into its metrics.json."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any, Callable

from aezoo.core.autoencoder import require_labels
from aezoo.core.evaluator import Evaluator
from aezoo.data import Split, Splits
from aezoo.errors import AezooError


def run_splits(model: Any, dataset: str | None = None, data_dir: str | None = None, download: bool = False) -> Splits:
    """The splits of the dataset a model was trained on (or ``dataset`` to look elsewhere)."""
    from aezoo.api.catalog import load_dataset

    config = model.run.config if getattr(model, "run", None) is not None else {}
    ref = dataset or config.get("dataset")
    if ref is None and config.get("dataset_not_kept"):
        raise ValueError(f"this model comes from an export whose dataset {config['dataset_not_kept']!r} was not "
                         "kept (only a registered data source that reads no local files is: aezoo never reads "
                         "paths an export chose): pass dataset=... (--dataset) to say which data to use")
    if ref is None:
        raise ValueError("this model does not record its dataset: pass dataset=... (--dataset)")
    splits = load_dataset(ref, data_dir=data_dir or (None if dataset else config.get("data_dir")), download=download)
    if splits.input_shape != tuple(model.input_shape):
        raise ValueError(f"dataset {ref!r} has images of shape {splits.input_shape} but the model takes "
                         f"{tuple(model.input_shape)}; pick a dataset of the same shape")
    require_labels(model, splits.test.labels, f"dataset {splits.name!r}")
    return splits


def first(split: Split, limit: int | None) -> Split:
    if limit is None or limit >= len(split):
        return split
    return Split(split.images[:limit], None if split.labels is None else split.labels[:limit])


def run_binarization(model: Any) -> str:
    """How the run's training binarised its pixels (``none`` for a model without a run or trained on grey ones)."""
    run = getattr(model, "run", None)
    train = run.config.get("train") if run is not None else None
    return str(train.get("binarize", "none")) if isinstance(train, dict) else "none"


def evaluate_model(model: Any, splits: Splits, iw_samples: int = 100, limit: int | None = None,
                   cache_dir: Path | None = None, n_per_class: int = 100, seed: int = 0, elbo_samples: int = 1,
                   binarize: str | None = None) -> dict[str, Any]:
    """Test-split metrics (keys prefixed ``test_``) plus class-conditional generation consistency when the
    dataset has labels (``class_consistency``: per label and ``mean``). ``binarize``: 0/1 test pixels for a
    Bernoulli likelihood (``dynamic``, ``static``, ``none``; None: as the run was trained)."""
    from aezoo.api.classifier import class_consistency

    how = run_binarization(model) if binarize is None else binarize
    evaluator = Evaluator(iw_samples=iw_samples, elbo_samples=elbo_samples, binarize=how, seed=seed)
    raw = evaluator.evaluate(model, first(splits.test, limit), splits.train)
    metrics = {f"test_{k}": v for k, v in raw.items()}
    _check_finite(model, metrics)
    metrics["test_dataset"] = splits.name
    if splits.has_labels and cache_dir is not None:
        metrics["class_consistency"] = class_consistency(model, splits, n_per_class, cache_dir, seed=seed)
    return metrics


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(map(_non_finite, value.values()))
    if isinstance(value, (list, tuple)):
        return any(map(_non_finite, value))
    return False


def _check_finite(model: Any, metrics: dict[str, Any]) -> None:
    """Refuse metrics that are not numbers (NaN, infinite): a model giving them is broken, and no number it
    gave is worth printing or saving."""
    bad = [k for k, v in metrics.items() if _non_finite(v)]
    if bad:
        run = getattr(getattr(model, "run", None), "id", "the model")
        shown = ", ".join(f"{k} ({metrics[k]})" if isinstance(metrics[k], float) else k for k in bad[:5])
        raise AezooError(f"evaluating {run} gave non-finite {shown}: the model's outputs in eval mode are not "
                         "numbers on these images (check its encoder and decoder); nothing was saved")


def evaluate_and_save(model: Any, splits: Splits, iw_samples: int = 100, limit: int | None = None,
                      home: str | None = None, save: bool = True, elbo_samples: int = 1,
                      binarize: str | None = None) -> dict[str, Any]:
    """Evaluate a loaded run on ``splits`` and (``save``, and only for a run of this registry: an exported folder
    is read-only) merge the results into its metrics.json."""
    from aezoo.registry import Registry

    registry = Registry(home)
    with tempfile.TemporaryDirectory(prefix="aezoo-eval-") as scratch:  # --no-save writes nothing to the home
        cache = registry.home / "cache" / "classifiers" if save else Path(scratch)
        metrics = evaluate_model(model, splits, iw_samples=iw_samples, limit=limit, cache_dir=cache,
                                 elbo_samples=elbo_samples, binarize=binarize)
    if save and in_registry(model, registry):
        registry.update_metrics(model.run.id, metrics)
    return metrics


def in_registry(model: Any, registry: Any) -> bool:
    """Whether ``model`` was loaded from ``registry`` (not from an exported folder)."""
    run = getattr(model, "run", None)
    return run is not None and Path(run.path).resolve().is_relative_to(Path(registry.home).resolve())


def evaluate_run(ref: str, dataset: str | None = None, data_dir: str | None = None, iw_samples: int = 100,
                 limit: int | None = None, home: str | None = None, save: bool = True, elbo_samples: int = 1,
                 binarize: str | None = None) -> dict[str, Any]:
    """Load run ``ref``, evaluate it on its test split and (``save``) merge the results into its metrics.json.
    ``binarize`` (``dynamic``, ``static``, ``none``): 0/1 test pixels for a Bernoulli likelihood; None: as the run
    was trained (``zoo train --binarize``)."""
    from aezoo.api.load import load

    model = load(ref, home=home)
    splits = run_splits(model, dataset, data_dir)
    return evaluate_and_save(model, splits, iw_samples, limit, home, save, elbo_samples, binarize)


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
