"""`zoo compare`: several runs side by side on the same test split and the same seeded test images.

One HTML page and one JSON file: the runs, named by their ``--name`` and by the settings that differ between them,
with any warning (posterior collapse); every run's test metrics (evaluated first where a run has none on that
dataset; a metric a run does not have is "n/a: reason", never 0); latent maps on shared axes; images decoded from
the same N(0, I) draws by every run (labelled, for a plain autoencoder, as never trained to make them meaningful);
reconstructions of the same test images; samples from each run's own sampler; training curves overlaid. Runs of
different families and datasets are allowed: images are grouped by dataset.

``train_all`` trains the runs first (``zoo compare --train``), one per value of a swept hyperparameter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from aezoo.api.evaluate import ensure_test_metrics
from aezoo.core.diagnosis import warnings
from aezoo.data import Splits
from aezoo.viz import draw as figures
from aezoo.viz import metrics as metric_table
from aezoo.viz import side_by_side, views
from aezoo.viz.html import esc, figure, format_value, metrics_table, page, write_page
from aezoo.viz.labels import differences, run_label, run_labels
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
    label: str = ""  # its name and the settings that differ from the other runs'

    @property
    def id(self) -> str:
        return self.model.run.id

    @property
    def short(self) -> str:
        """The run's name and id, as table columns and row labels show it."""
        return run_label(self.model)


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
    for entry, label in zip(entries, run_labels([e.model for e in entries])):
        entry.label = label
    return entries


def by_dataset(entries: Sequence[Entry]) -> dict[str, list[Entry]]:
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.splits.name, []).append(entry)
    return groups


def reconstructions(group: Sequence[Entry], picks: Picks):
    """Originals (with their classes) above each run's reconstructions of them."""
    splits = group[0].splits
    x = splits.test.floats(None)[picks.indices]
    rows = [("original", x, picks.names())]
    for entry in group:
        from aezoo.core.sampling import labels_for

        with torch.no_grad():
            rows.append((entry.short, entry.model.reconstruct(x, labels_for(entry.model, picks.labels, len(x))).cpu()))
    return figures.rows_figure(rows, title="Reconstructions of the same test images")


def own_samples(group: Sequence[Entry], seed: int = 0):
    """One row per run, each from the run's default sampler (a plain AE's: a Gaussian fitted to its codes),
    seeded alike; the row says which."""
    from aezoo.core import sampling as generate

    rows = []
    for entry in group:
        sampler = entry.model.sampler
        codes = None if sampler == "prior" else views.train_codes(entry.model, entry.splits)
        prior = generate.fit_sampler(entry.model, sampler, codes, seed=seed)
        labels = views.cycling_labels(entry.splits, SHOWN_SAMPLES) if entry.model.conditional else None
        images = generate.decode_draws(entry.model, prior, SHOWN_SAMPLES, torch.Generator().manual_seed(seed),
                                       labels).cpu()
        rows.append((f"{entry.short}: from {prior.title}", images))
    return figures.rows_figure(rows, title="Samples from each run's own sampler", labels="above")


def runs_table(entries: Sequence[Entry]) -> str:
    """One row per run: its name and id, model, dataset, the settings that differ, what it samples from and its
    warnings."""
    head = "<tr><th>run</th><th>model</th><th>dataset</th><th>differs in</th><th>samples from</th><th>warnings</th></tr>"
    rows = []
    for entry, diff in zip(entries, differences([e.model for e in entries])):
        differs = ", ".join(f"{k}={format_value(v)}" for k, v in diff.items() if k != "model") or "-"
        warned = "; ".join(warnings(entry.metrics))
        rows.append(f"<tr><th>{esc(entry.short)}</th><td>{esc(entry.model.run.model)}</td>"
                    f"<td>{esc(entry.splits.name)}</td><td>{esc(differs)}</td><td>{esc(sampled_from(entry.model))}</td>"
                    f'<td class="{"warn" if warned else ""}">{esc(warned or "-")}</td></tr>')
    return "<table>" + head + "".join(rows) + "</table>"


def warning_notes(entries: Sequence[Entry]) -> str:
    return "".join(f'<p class="note warn">{esc(e.short)}: {esc(w)}</p>' for e in entries for w in warnings(e.metrics))


@dataclass
class Parts:
    """The page's figure blocks and what they measured (for the JSON)."""

    html: list[str] = field(default_factory=list)
    latent_maps: dict[str, Any] = field(default_factory=dict)
    prior_samples: dict[str, Any] = field(default_factory=dict)


def group_figures(name: str, group: Sequence[Entry], picks: Picks, seed: int, where: str, parts: Parts) -> None:
    """The figures of the runs of one dataset: latent maps, N(0, I) samples, reconstructions, own samples."""
    models, labels = [e.model for e in group], [e.label for e in group]
    maps = side_by_side.latent_maps(models, group[0].splits, labels=labels)
    parts.latent_maps[name] = maps.info
    parts.html.append(figure(
        f"Latent maps on shared axes{where}", [maps],
        f"Test codes coloured by class, every run on the same axes and scale ({maps.info['plane']}); the dashed "
        "circle holds 95 % of N(0, I). A VAE's KL term pulls its codes into that circle; a plain autoencoder's "
        "codes lie wherever training put them, so drawing from N(0, I) misses them."))
    continuous = [e for e in group if side_by_side.standard_normal_note(e.model)[0] is not None]
    if continuous:
        prior = side_by_side.prior_samples([e.model for e in continuous], n=SHOWN_SAMPLES, seed=seed,
                                           labels=[e.label for e in continuous])
        parts.prior_samples[name] = prior.info
        left = [e.short for e in group if e not in continuous]
        parts.html.append(figure(
            f"Decoded from N(0, I){where}", [prior],
            "The same N(0, I) draws decoded by every run: where a run was trained to make N(0, I) meaningful (a "
            "VAE's prior) they decode to images like the data; a plain autoencoder decodes them to noise."
            + (f" Left out (quantised codes): {', '.join(left)}." if left else "")))
    parts.html.append(figure(f"Reconstructions{where}", [reconstructions(group, picks)],
                             "The same test images for every run: originals (class under each) on top.",
                             picks.describe()))
    parts.html.append(figure(
        f"Samples from each run's own sampler{where}", [own_samples(group, seed)],
        "Decoded draws, one row per run, from what the run samples from by default: its prior, or for a plain "
        "autoencoder a Gaussian fitted to its training codes (so these can look good although its N(0, I) "
        "samples above are noise)."))


def summary(entries: Sequence[Entry], picks: dict[str, Picks], parts: Parts) -> dict[str, Any]:
    """The JSON: runs with their names, labels, metrics, n/a reasons and warnings, the table as shown, the test
    images used and what the latent maps and N(0, I) samples measured."""
    table = metric_table.rows({e.short: e.metrics for e in entries})
    diffs = differences([e.model for e in entries])
    return {
        "runs": [{"id": e.id, "name": e.model.run.name, "label": e.label, "model": e.model.run.model,
                  "dataset": e.splits.name, "differs_in": {k: v for k, v in d.items() if k != "model"},
                  "posterior": e.model.capabilities.posterior, "prior": e.model.capabilities.prior_title,
                  "metrics": {m.key: metric_table.lookup(e.metrics, m.key) for m, _ in table},
                  "not_applicable": dict(e.metrics.get("test_not_applicable") or {}),
                  "warnings": warnings(e.metrics)} for e, d in zip(entries, diffs)],
        "table": [{"metric": m.key, "label": m.label, "group": m.group, "unit": m.unit, "cells": cells}
                  for m, cells in table],
        "test_images": {name: p.as_dict() for name, p in picks.items()},
        "latent_maps": parts.latent_maps,
        "prior_samples": parts.prior_samples,
    }


def build_compare(entries: Sequence[Entry], path: Path | str, seed: int = 0) -> dict[str, Any]:
    """Write the comparison page to ``path`` and return its JSON summary."""
    groups = by_dataset(entries)
    picks = {name: pick(group[0].splits.test, SHOWN_IMAGES, group[0].splits.classes) for name, group in groups.items()}
    parts = Parts()
    for name, group in groups.items():
        group_figures(name, group, picks[name], seed, f" ({name})" if len(groups) > 1 else "", parts)
    histories = {e.short: e.model.run.history for e in entries if (e.model.run.path / "history.json").is_file()}
    if histories:
        parts.html.append(figure("Training curves", [figures.overlaid_curves_figure(histories)],
                                 "Validation (solid) and training (dotted) loss per epoch; each model's loss is its "
                                 "own objective, so compare shapes, and compare models with the test metrics."))
    sections = [("Runs", warning_notes(entries) + runs_table(entries)),
                ("Test metrics", metrics_table({e.short: e.metrics for e in entries})),
                ("Figures", "".join(parts.html))]
    subtitle = f"{len(entries)} runs on the test split of {', '.join(groups)}: " + "; ".join(e.label for e in entries)
    write_page(path, page("aezoo compare: " + ", ".join(e.short for e in entries), subtitle, sections))
    return summary(entries, picks, parts)


def sampled_from(model: Any) -> str:
    """What the run's samples are drawn from, in words."""
    caps = model.capabilities
    return caps.prior_title if caps.sampler == "prior" else f"a {caps.sampler} fitted to its training codes"


@dataclass(frozen=True)
class Plan:
    """One run to train: a model, its hyperparameters (over the defaults) and its name (None: named by id)."""

    model: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    name: str | None = None


def same_settings(record: Any, plan: Plan, dataset: str, epochs: int | None, seed: int) -> bool:
    """Whether saved run ``record`` was trained as ``plan`` would be (model, dataset, hyperparameters, seed, and
    epochs when given)."""
    import json

    from aezoo.api.catalog import model_spec

    train = record.config.get("train") or {}
    wanted = json.loads(json.dumps(model_spec(plan.model).check(plan.hyperparameters)))  # tuples as saved: lists
    return (record.model == plan.model and record.config.get("dataset") == dataset
            and record.hyperparameters == wanted
            and train.get("seed") == seed and (epochs is None or train.get("epochs") == epochs))


def train_all(plans: Sequence[Plan | str], dataset: str, epochs: int | None, seed: int = 0,
              data_dir: str | None = None, home: str | None = None, say: Say = lambda line: None) -> list[str]:
    """Train each plan (a model name, or a Plan) with the same dataset, seed and number of epochs; the run ids.
    A named plan whose name a run with the same settings already has reuses that run (a sweep run twice trains
    once); a name taken by a run with other settings is an error."""
    from aezoo.api.catalog import parse_dataset_ref
    from aezoo.api.train import train
    from aezoo.errors import AezooError
    from aezoo.registry import Registry

    registry = Registry(home)
    source, where = parse_dataset_ref(dataset)
    dataset_name = source.name if where is None else f"{source.name}:{where}"
    ids = []
    for plan in plans:
        plan = Plan(plan) if isinstance(plan, str) else plan
        if plan.name is not None:
            taken = [r for r in registry.list() if r.name == plan.name]
            if taken and same_settings(taken[0], plan, dataset_name, epochs, seed):
                say(f"reusing {taken[0].id} ({plan.name}): trained with these settings already")
                ids.append(taken[0].id)
                continue
            if taken:
                raise AezooError(f"run name {plan.name!r} is taken by {taken[0].id}, trained with other settings; "
                                 f"remove it (zoo runs rm {taken[0].id}) or compare it as it is")
        settings = "".join(f", {k}={format_value(v)}" for k, v in plan.hyperparameters.items())
        say(f"training {plan.name or plan.model} ({plan.model}{settings}) on {dataset} for "
            f"{epochs if epochs is not None else 'the default'} epochs (seed {seed})")
        net = train(plan.model, dataset=dataset, data_dir=data_dir, epochs=epochs, seed=seed, device="auto",
                    hyperparameters=plan.hyperparameters, name=plan.name, registry=registry)
        ids.append(net.run.id)
    return ids
