"""Files reach the registry whole: a run appears in one rename, and files that are updated (metrics, aliases,
training checkpoints) are written beside their place and renamed over it, never rewritten in place."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from file_watch import watch_files

from aezoo.api.train import train
from aezoo.registry import Registry


def _save(reg: Registry, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return reg.save("conv-vae", {"w": torch.randn(64, 64, generator=g), "b": torch.randn(64, generator=g)},
                    hyperparameters={"latent_dim": 2}, input_shape=(1, 8, 8), config={"dataset": "digits"},
                    metrics={"val_loss": 1.0}, history=[{"epoch": 1, "train_loss": 2.0}])


def _half_published(runs: Path) -> list[str]:
    """Version folders holding some files but not a complete run (a manifest listing exactly those files)."""
    problems = []
    for run_dir in sorted(runs.glob("*/*")) if runs.is_dir() else []:
        if not run_dir.name.isdigit():
            continue  # only runs/MODEL/VERSION folders are runs
        names = {p.name for p in run_dir.iterdir()} if run_dir.is_dir() else set()
        if not names:
            continue  # an empty reservation is not a run
        manifest = run_dir / "manifest.json"
        try:
            listed = set(json.loads(manifest.read_text())["files"]) | {"manifest.json", "metrics.json"}
            # metrics.json is an unhashed copy of the manifest's metrics (docs/reliability.md)
        except (OSError, ValueError, KeyError):
            listed = set()
        if names != listed:
            problems.append(f"{run_dir}: {sorted(names)}")
    return problems


def test_a_reader_never_sees_a_half_published_run(tmp_path):
    reg = Registry(tmp_path / "home")
    _save(reg)  # the model folder and a first run exist: the second save is watched against them
    seen: list[str] = []
    runs = reg.home / "runs"
    with watch_files(reg.home, on_event=lambda: seen.extend(_half_published(runs))) as watch:
        record = _save(reg, seed=1)
    assert watch.written and watch.renamed, "the save was not observed"
    assert seen == []
    in_place = [p for p in watch.written if p.is_relative_to(runs) and p.relative_to(runs).parts[1].isdigit()]
    assert not in_place, "files were written inside a run folder in place"
    assert any(dst == record.path for _, dst in watch.renamed), "the run folder did not arrive by one rename"
    assert [r.version for r in reg.list()] == [1, 2]


def test_metric_and_alias_updates_replace_files_whole(tmp_path):
    reg = Registry(tmp_path / "home")
    record = _save(reg)
    targets = {record.path / "metrics.json", record.path / "manifest.json", reg.home / "aliases" / "conv-vae" / "best"}
    with watch_files(reg.home) as watch:
        reg.update_metrics(record, {"test_bce": 3.0})
        reg.tag(record, "best")
    assert not targets & set(watch.written), "a registry file was rewritten in place"
    assert targets <= {dst for _, dst in watch.renamed}
    assert reg.verify("conv-vae:best").metrics["test_bce"] == 3.0


def test_training_checkpoints_replace_the_previous_one_whole(zoo_home):
    with watch_files(zoo_home) as watch:
        train("conv-ae", epochs=2, batch_size=256, checkpoint_every=0)  # a checkpoint after every epoch
    checkpoints = [dst for _, dst in watch.renamed if dst.name == "checkpoint.safetensors"]
    assert len(checkpoints) == 2, watch.renamed  # one per epoch, each renamed into place
    assert not [p for p in watch.written if p.name == "checkpoint.safetensors"], "checkpoint written in place"


def test_a_metrics_update_on_a_run_of_the_older_format_keeps_it_verifiable(tmp_path):
    """Runs saved before metrics moved into the manifest list metrics.json with a hash; an update must drop it."""
    import torch

    from aezoo.registry import Registry
    from aezoo.registry.files import file_entry

    registry = Registry(tmp_path)
    record = registry.save("conv-vae", {"w": torch.zeros(3)}, hyperparameters={}, input_shape=(1, 8, 8), config={},
                           metrics={"val_loss": 1.0}, history=[])
    manifest = json.loads((record.path / "manifest.json").read_text())
    manifest["files"]["metrics.json"] = file_entry(record.path / "metrics.json")  # as an older aezoo wrote it
    (record.path / "manifest.json").write_text(json.dumps(manifest))
    registry.verify(record.id)
    registry.update_metrics(record.id, {"fid": 12.5})
    registry.verify(record.id)  # raises if the stale metrics.json hash were kept
    assert registry.get(record.id).metrics["fid"] == 12.5
