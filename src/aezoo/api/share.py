"""Export, load and import shareable folders: builds the models the registry's export format describes.

The folder format itself (writing, reading, verifying) is ``aezoo.registry.export``; this module is the part
that needs models: the facts and sample image of an export, and a model rebuilt from an export's config.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from aezoo.errors import AezooError
from aezoo.registry import paths
from aezoo.registry.export import (
    ExportError,
    ExportInfo,
    check_target,
    read_export,
    read_export_history,
    read_export_state,
    write_export,
)
from aezoo.registry.record import RunRecord
from aezoo.registry.store import Registry

N_SAMPLES = 16
N_RECONSTRUCTIONS = 8
RUN_CONFIG_KEYS = ("dataset", "input_shape", "train", "classes", "qualified_model")  # carried into a new run


def export_run(ref: str | RunRecord, directory: str | os.PathLike, *, home: str | os.PathLike | None = None,
               samples: bool = True) -> Path:
    """Write run ``ref`` as a shareable folder at ``directory`` (which must not exist or be empty)."""
    from aezoo.api.build import build_run
    from aezoo.api.catalog import model_spec

    check_target(directory)
    registry = Registry(home)
    record = registry.verify(ref)  # every file of the run against its manifest
    model = build_run(record.id, home=str(registry.home))
    caps = model.capabilities
    prior = caps.prior_title if caps.sampler == "prior" else \
        f"none shaped by training (samples come from a {caps.sampler} fit to the training codes)"
    facts = {"variational": bool(caps.posterior_density), "posterior": caps.posterior, "prior": prior,
             "sampler": caps.sampler, "latent_dim": int(model.latent_dim),
             "num_parameters": sum(int(t.numel()) for t in model.state_dict().values())}
    try:
        summary = model_spec(record.model).summary
    except Exception:  # the card is still useful without the plugin's summary
        summary = ""
    draw = (lambda path: _write_samples(path, model, record)) if samples else None
    return write_export(record, directory, facts, summary, draw)


def _write_samples(path: Path, model: Any, record: RunRecord) -> dict[str, Any]:
    """Draw samples.png; any failure (no matplotlib, dataset not available) skips it with the reason."""
    try:
        import torch

        from aezoo.viz import draw as figures

        if model.sampler == "prior" and not model.conditional:
            with torch.no_grad():
                images = model.sample(N_SAMPLES, generator=torch.Generator().manual_seed(0)).cpu()
            figures.image_grid(images, nrow=8, title=f"{record.id}: samples from {model.prior.title}").save(path)
            return {"file": path.name, "kind": "prior samples", "count": N_SAMPLES}
        from aezoo.api.catalog import load_dataset
        from aezoo.core.sampling import labels_for

        splits = load_dataset(record.config["dataset"], data_dir=record.config.get("data_dir"))
        originals = splits.test.floats(N_RECONSTRUCTIONS)
        labels = None if splits.test.labels is None else splits.test.labels[:N_RECONSTRUCTIONS]
        with torch.no_grad():
            reconstructions = model.reconstruct(originals, labels_for(model, labels, len(originals))).cpu()
        figures.reconstruction_figure(originals, reconstructions, title=f"{record.id}: test reconstructions").save(path)
        return {"file": path.name, "kind": "test reconstructions", "count": len(originals)}
    except Exception as exc:  # the image is optional: the export goes on without it
        path.unlink(missing_ok=True)
        return {"file": None, "skipped": f"{type(exc).__name__}: {exc}"}


def shared_dataset(ref: Any) -> str | None:
    """The dataset of an export as aezoo keeps it: the name of a registered data source that reads no local
    files (``digits``, ``mnist``, ...); a source reading a path the export chose (``folder:/some/dir``,
    ``npz:/etc/passwd``) or an unknown name gives None, so no file the sender picked is ever read."""
    from aezoo.api.catalog import parse_dataset_ref

    if not isinstance(ref, str):
        return None
    try:
        spec, _ = parse_dataset_ref(ref)
    except AezooError:
        return None
    return None if spec.takes_path else spec.name


def _local_paths_dropped(info: ExportInfo) -> ExportInfo:
    """``info`` with its dataset kept only when shared_dataset() keeps it; a dropped one is recorded, as text,
    under ``dataset_not_kept``."""
    dataset = info.config.get("dataset")
    kept = shared_dataset(dataset)
    if kept == dataset:
        return info
    return replace(info, config={**info.config, "dataset": kept, "dataset_not_kept": dataset})


def build_from_export(directory: str | os.PathLike) -> tuple[ExportInfo, Any]:
    """Verify an export, bound and plan its model from config.json, check the weights' header against the
    plan, then build the model and load the weights."""
    from aezoo.api.build import build_checked, built_as

    info = _local_paths_dropped(read_export(directory))
    model = build_checked(built_as(info.model, info.config), info.config["input_shape"], info.config["hyperparameters"],
                          info.path / paths.WEIGHTS, lambda: read_export_state(info),
                          where=str(info.path / paths.CONFIG))
    model.run = info.record()
    return info, model


def load_export(directory: str | os.PathLike, device: str = "cpu") -> Any:
    """The model of an export folder, verified, in eval mode on ``device`` (``model.run`` describes it)."""
    _, model = build_from_export(directory)
    return model.to(device).eval()


def import_export(directory: str | os.PathLike, *, name: str | None = None,
                  home: str | os.PathLike | None = None) -> RunRecord:
    """Verify an export and save it into the registry as a new version of its model; returns the new run."""
    if name is not None:  # refused before the export is read and built
        from aezoo.plugins.manager import catalog

        Registry(home).check_run_name(name, tuple(catalog().models))
    info, model = build_from_export(directory)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    history = read_export_history(info)
    config = {k: info.config.get(k) for k in RUN_CONFIG_KEYS}
    if info.config.get("dataset_not_kept") is not None:
        config["dataset_not_kept"] = info.config["dataset_not_kept"]
    config.update(data_dir=None, aezoo_version=info.config.get("trained_with_aezoo_version", ""),
                  imported_from={"path": str(info.path.absolute()), "source_run": info.config.get("source_run"),
                                 "weights_sha256": info.weights_sha256})
    return Registry(home).save(info.model, state, hyperparameters=info.config["hyperparameters"],
                               input_shape=tuple(info.config["input_shape"]), config=config,
                               metrics=info.config["metrics"], history=history, name=name)


__all__ = ["ExportError", "export_run", "build_from_export", "load_export", "import_export"]
