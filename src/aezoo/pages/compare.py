"""`zoo compare`: several runs side by side on the same test split and the same seeded test images.

One HTML page and one JSON file: every run's test metrics (evaluated first where a run has none on that dataset;
a metric a run does not have is "n/a: reason", never 0), reconstructions of the same test images, samples, and
training curves overlaid. Runs of different families and datasets are allowed: images are grouped by dataset.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from aezoo.api.evaluate import ensure_test_metrics
from aezoo.data import Splits
from aezoo.viz import draw as figures
from aezoo.viz import metrics as metric_table
from aezoo.viz import views
from aezoo.viz.html import figure, metrics_table, page, write_page
from aezoo.viz.picks import Picks, pick

Say = Callable[[str], None]
SHOWN_IMAGES = 10  # test images reconstructed per dataset
SHOWN_SAMPLES = 10  # samples per run


@dataclass
class Entry:
    """One run being compared: the loaded model, the splits it is compared on and its metrics there."""

    model: Any
    splits: Splits
    metrics: dict[str, Any]

    @property
    def id(self) -> str:
        return self.model.run.id


def load_entries(refs: Sequence[str], dataset: str | None = None, data_dir: str | None = None,
                 home: str | None = None, say: Say = lambda line: None) -> list[Entry]:
    """Load each run once (two references to one run count once) with the splits of ``dataset`` or its own."""
    from aezoo.api.catalog import load_dataset
    from aezoo.api.evaluate import run_splits
    from aezoo.api.load import load_run

    if not refs:
        raise ValueError("name at least one run to compare (e.g. `zoo compare conv-vae conv-ae`)")
    entries: list[Entry] = []
    cache: dict[str, Splits] = {}
    for ref in refs:
        model = load_run(ref, home)
        if any(e.id == model.run.id for e in entries):
            continue
        name = dataset or model.run.config.get("dataset")
        if name not in cache:
            cache[name] = run_splits(model, dataset, data_dir) if dataset or name is None else \
                load_dataset(name, data_dir=data_dir or model.run.config.get("data_dir"))
        splits = cache[name]
        if splits.input_shape != tuple(model.input_shape):
            raise ValueError(f"{model.run.id} takes images of shape {tuple(model.input_shape)} but {name!r} has "
                             f"{splits.input_shape}; compare it on a dataset of its shape (leave out --dataset)")
        entries.append(Entry(model, splits, ensure_test_metrics(model, splits, home, say)))
    return entries


def by_dataset(entries: Sequence[Entry]) -> dict[str, list[Entry]]:
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.splits.name, []).append(entry)
    return groups


def reconstructions(group: Sequence[Entry], picks: Picks, path: Path) -> Path:
    """Originals (with their classes) above each run's reconstructions of them."""
    splits = group[0].splits
    x = splits.test.floats(None)[picks.indices]
    rows = [("original", x, picks.names())]
    for entry in group:
        from aezoo.core.sampling import labels_for

        with torch.no_grad():
            rows.append((entry.id, entry.model.reconstruct(x, labels_for(entry.model, picks.labels, len(x))).cpu()))
    return figures.rows_figure(rows, path, title="Reconstructions of the same test images")


def samples(group: Sequence[Entry], path: Path, seed: int = 0) -> Path:
    """One row of samples per run, each from the run's default sampler, seeded alike."""
    from aezoo.core import sampling as generate

    rows = []
    for entry in group:
        sampler = entry.model.sampler
        codes = None if sampler == "prior" else views.train_codes(entry.model, entry.splits)
        prior = generate.fit_sampler(entry.model, sampler, codes, seed=seed)
        labels = views.cycling_labels(entry.splits, SHOWN_SAMPLES) if entry.model.conditional else None
        images = generate.decode_draws(entry.model, prior, SHOWN_SAMPLES, torch.Generator().manual_seed(seed),
                                       labels).cpu()
        rows.append((f"{entry.id}\n({sampler})", images))
    return figures.rows_figure(rows, path, title="Samples (each run's default sampler)")


def summary(entries: Sequence[Entry], picks: dict[str, Picks]) -> dict[str, Any]:
    """The JSON: runs with their metrics and n/a reasons, the table as shown, the test images used."""
    table = metric_table.rows({e.id: e.metrics for e in entries})
    return {
        "runs": [{"id": e.id, "model": e.model.run.model, "dataset": e.splits.name,
                  "posterior": e.model.capabilities.posterior, "prior": e.model.capabilities.prior_title,
                  "metrics": {m.key: metric_table.lookup(e.metrics, m.key) for m, _ in table},
                  "not_applicable": dict(e.metrics.get("test_not_applicable") or {})} for e in entries],
        "table": [{"metric": m.key, "label": m.label, "group": m.group, "unit": m.unit, "cells": cells}
                  for m, cells in table],
        "test_images": {name: p.as_dict() for name, p in picks.items()},
    }


def build_compare(entries: Sequence[Entry], path: Path | str, seed: int = 0) -> dict[str, Any]:
    """Write the comparison page to ``path`` and return its JSON summary."""
    groups = by_dataset(entries)
    picks = {name: pick(group[0].splits.test, SHOWN_IMAGES, group[0].splits.classes) for name, group in groups.items()}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        parts = []
        for i, (name, group) in enumerate(groups.items()):
            where = f" ({name})" if len(groups) > 1 else ""
            parts.append(figure(f"Reconstructions{where}", [reconstructions(group, picks[name], t / f"rec{i}.png")],
                                "The same test images for every run: originals (class under each) on top.",
                                picks[name].describe()))
            parts.append(figure(f"Samples{where}", [samples(group, t / f"samples{i}.png", seed)],
                                "Decoded draws, one row per run, from the distribution the run samples from."))
        histories = {e.id: e.model.run.history for e in entries if (e.model.run.path / "history.json").is_file()}
        if histories:
            parts.append(figure("Training curves", [figures.overlaid_curves_figure(histories, t / "curves.png")],
                                "Validation (solid) and training (dotted) loss per epoch; each model's loss is its "
                                "own objective, so compare shapes, and compare models with the test metrics."))
        datasets = ", ".join(groups)
        sections = [("Test metrics", metrics_table({e.id: e.metrics for e in entries})), ("Figures", "".join(parts))]
        subtitle = (f"{len(entries)} runs on the test split of {datasets}: "
                    + "; ".join(f"{e.id} ({e.model.run.model}, {e.model.capabilities.posterior} code, samples from "
                                f"{sampled_from(e.model)})" for e in entries))
        write_page(path, page("aezoo compare: " + ", ".join(e.id for e in entries), subtitle, sections))
    return summary(entries, picks)


def sampled_from(model: Any) -> str:
    """What the run's samples are drawn from, in words."""
    caps = model.capabilities
    return caps.prior_title if caps.sampler == "prior" else f"a {caps.sampler} fitted to its training codes"


def train_all(models: Sequence[str], dataset: str, epochs: int, seed: int = 0, data_dir: str | None = None,
              home: str | None = None, say: Say = lambda line: None) -> list[str]:
    """Train each model with the same dataset, seed and number of epochs; the new run ids."""
    from aezoo.api.train import train
    from aezoo.registry import Registry

    ids = []
    for model in models:
        say(f"training {model} on {dataset} for {epochs} epochs (seed {seed})")
        net = train(model, dataset=dataset, data_dir=data_dir, epochs=epochs, seed=seed, device="auto",
                    registry=Registry(home))
        ids.append(net.run.id)
    return ids
