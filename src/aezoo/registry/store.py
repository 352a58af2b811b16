"""The Registry: saves, finds, verifies, tags and deletes runs under one home directory. References are
resolved by refs.py against a scan (scan.py); checkpoints, damaged runs and gc live in housekeeping.py."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aezoo.errors import RegistryError
from aezoo.registry import housekeeping, paths
from aezoo.registry.files import (
    atomic_write_bytes,
    atomic_write_json,
    check_sha256,
    dumps_json,
    file_entry,
    fsync_dir,
    make_dirs,
    read_json,
    read_safetensors,
    umask,
    write_new,
    write_safetensors,
)
from aezoo.registry.lock import Claim, process_tag
from aezoo.registry.record import MANIFEST_FORMAT, RunRecord, read_manifest, record_from_dir, run_metrics
from aezoo.registry.refs import (
    choices,
    damaged_error,
    resolve,
    storage_name,
    unknown_ref,
    validate_alias,
    validate_model_name,
    validate_name,
    validate_run_name,
)
from aezoo.registry.scan import Snapshot, alias_files, is_version, read_alias, scan

if TYPE_CHECKING:
    import torch


class CheckpointSavedError(RegistryError):
    """A save of a checkpoint whose run exists already."""


class Registry:
    """Local on-disk registry of trained runs (see the package docstring for the layout)."""

    def __init__(self, home: str | Path | None = None):
        self.home = Path(home).expanduser() if home is not None else paths.default_home()

    def __repr__(self) -> str:
        return f"Registry({str(self.home)!r})"

    # ------------------------------------------------------------------ writing

    def save(
        self,
        model_name: str,
        state: dict[str, "torch.Tensor"],
        *,
        hyperparameters: dict[str, Any],
        input_shape: tuple[int, ...],
        config: dict[str, Any],
        metrics: dict[str, Any],
        history: list[dict[str, Any]],
        name: str | None = None,
        checkpoint_key: str | None = None,
    ) -> RunRecord:
        """Store a new run as the next version of ``model_name`` (a plain name, or ``PLUGIN/MODEL``, stored under
        ``storage_name``); it becomes ``<model>:latest``. ``checkpoint_key``: the training checkpoint the run is
        saved from, recorded in its config; refused when a run of that checkpoint exists (checked under the
        lock, so one checkpoint is never saved as two runs)."""
        key = storage_name(validate_model_name(model_name))
        if name is not None:
            validate_run_name(name, [model_name, key, model_name.rpartition("/")[2]])
        for what, value, kind in (
            ("hyperparameters", hyperparameters, dict),
            ("config", config, dict),
            ("metrics", metrics, dict),
            ("history", history, list),
        ):
            if not isinstance(value, kind):
                raise RegistryError(f"{what} must be a {kind.__name__}, got {type(value).__name__}")
        if checkpoint_key is not None:
            config = {**config, "checkpoint_key": validate_name(checkpoint_key, "checkpoint key")}
        shape = [int(d) for d in input_shape]
        merged = {**config, "model": model_name, "hyperparameters": hyperparameters, "input_shape": shape}
        sidecars = {
            paths.CONFIG: dumps_json(merged, "config").encode(),
            paths.HISTORY: dumps_json(history, "history").encode(),
        }
        metrics_json = dumps_json(metrics, "metrics")
        hp_json = dumps_json(hyperparameters, "hyperparameters")

        model_dir = make_dirs(self.home / paths.RUNS / key)
        staging_root = make_dirs(self.home / paths.STAGING)
        with self._lock():  # gc sees a reserved version only with its staging folder, which says whose it is
            version = self._reserve_version(model_dir)
            run_id = f"{key}-{version}"
            target = model_dir / str(version)
            # named by the process owning it (PID and start time): gc never removes it, nor the version
            # folder it will fill, while that process runs
            stage = Path(tempfile.mkdtemp(prefix=f"{run_id}.{process_tag()}.", dir=staging_root))
        stage.chmod(0o777 & ~umask())  # mkdtemp makes it private; the run folder gets normal permissions
        try:
            import aezoo

            metadata = {
                "format": "pt",
                "model": model_name,
                "run_id": run_id,
                "version": str(version),
                "hyperparameters": hp_json,
                "input_shape": dumps_json(shape),
                "aezoo_version": aezoo.__version__,
            }
            write_safetensors(stage / paths.WEIGHTS, state, metadata)
            for fname, data in sidecars.items():
                write_new(stage / fname, data)
            write_new(stage / paths.METRICS, metrics_json.encode())  # a copy; the manifest's metrics rule
            manifest = {
                "format": MANIFEST_FORMAT,
                "id": run_id,
                "model": model_name,
                "version": version,
                "name": name,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "aezoo_version": aezoo.__version__,
                "files": {f: file_entry(stage / f) for f in (paths.WEIGHTS, *sidecars)},
                "metrics": metrics,
            }
            write_new(stage / paths.MANIFEST, dumps_json(manifest).encode())
            fsync_dir(stage)
            with self._lock():  # checked, and the run appears, under the lock: names and checkpoints stay unique
                snap = self._scan()
                if name is not None:
                    self._check_name_free(name, snap)
                if checkpoint_key is not None:
                    self._check_checkpoint_unsaved(checkpoint_key, snap)
                os.rename(stage, target)  # replaces the empty reserved dir in one step: the run appears whole
                fsync_dir(model_dir)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            with contextlib.suppress(OSError):
                target.rmdir()  # give the reservation back if it is still empty
            raise
        return self.get(f"{key}:{version}")

    def check_run_name(self, name: str, models: list[str] | tuple[str, ...] = ()) -> str:
        """Refuse a run name before work is done for it: an invalid name, one that reads as a run id or as a
        model's name (``models`` and the models with runs here), or one already used."""
        snap = self._scan()
        validate_run_name(name, [*models, *snap.runs, *snap.damaged])
        self._check_name_free(name, snap)
        return name

    def update_metrics(self, ref: str | RunRecord, metrics: dict[str, Any]) -> RunRecord:
        """Merge ``metrics`` into the run's metrics. The manifest holds them, so one atomic replace of
        manifest.json is the whole update; metrics.json is rewritten afterwards as a plain copy."""
        if not isinstance(metrics, dict):
            raise RegistryError(f"metrics must be a dict, got {type(metrics).__name__}")
        dumps_json(metrics, "metrics")
        with self._lock():
            model, version, manifest = self._resolve(ref)
            run_dir = self._run_dir(model, version)
            merged = {**run_metrics(run_dir, manifest), **metrics}
            manifest["metrics"] = merged
            manifest["files"].pop(paths.METRICS, None)  # older runs hashed the copy; it is no longer checked
            atomic_write_json(run_dir / paths.MANIFEST, manifest)  # the update happens here, in one step
            atomic_write_bytes(run_dir / paths.METRICS, dumps_json(merged, "metrics").encode())
        return self.get(f"{model}:{version}")

    def tag(self, ref: str | RunRecord, alias: str) -> RunRecord:
        """Point ``<model>:<alias>`` at the run ``ref`` (moving the alias if it exists)."""
        validate_alias(alias)
        with self._lock():
            model, version, _ = self._resolve(ref)
            alias_dir = make_dirs(self.home / paths.ALIASES / model)
            atomic_write_bytes(alias_dir / alias, f"{version}\n".encode())
        return self.get(f"{model}:{version}")

    def untag(self, model: str, alias: str) -> None:
        """Remove the user alias ``<model>:<alias>``."""
        model = validate_name(storage_name(model), "model name")
        validate_alias(alias)
        with self._lock():
            path = self.home / paths.ALIASES / model / alias
            if not path.is_file():
                known = sorted(self._scan().aliases(model))
                raise RegistryError(f"{model} has no alias {alias!r} (aliases: {', '.join(known) or 'none'})")
            path.unlink()

    def delete(self, ref: str | RunRecord, expect: str | None = None) -> str:
        """Delete a run (a damaged one too) and the aliases pointing at it; returns its id. With ``expect`` (the
        run id a user confirmed), refuse when ``ref`` names another run by now: nothing is deleted.

        The run's folder is never removed, so its version number is never reused and no alias can come to
        name another run: its manifest is renamed to ``.deleting`` (the run disappears in one step), the other
        files go, and the empty folder stays as a tombstone. ``gc`` finishes a delete a crash interrupted."""
        with self._lock():
            model, version, _ = self._resolve(ref, allow_damaged=True)
            if expect is not None and f"{model}-{version}" != expect:
                raise RegistryError(f"{_label(ref)} now names {model}-{version}, not {expect} (a run was saved or "
                                    f"deleted meanwhile); nothing was deleted: check with `zoo runs` and run "
                                    f"`zoo runs rm` again")
            for alias_file in alias_files(self.home, model):
                if read_alias(alias_file) == version:
                    alias_file.unlink(missing_ok=True)
            run_dir = self._run_dir(model, version)
            marker = run_dir / paths.DELETING
            if (run_dir / paths.MANIFEST).exists():
                os.rename(run_dir / paths.MANIFEST, marker)
            else:
                marker.touch()
            fsync_dir(run_dir)
            housekeeping.empty_deleted(self.home, run_dir)
        return f"{model}-{version}"

    # ------------------------------------------------------------------ reading

    def list(self, model: str | None = None) -> list[RunRecord]:
        """Complete runs, sorted by model then version; ``model`` keeps only that model's runs."""
        snap = self._scan()
        records = []
        for name in sorted(snap.runs):
            if model is not None and name != storage_name(model):
                continue
            aliases = snap.aliases_by_version(name)
            for version in sorted(snap.runs[name]):
                run_dir = self._run_dir(name, version)
                try:
                    records.append(record_from_dir(run_dir, snap.runs[name][version], aliases.get(version, [])))
                except RegistryError:
                    continue  # damaged: see damaged()
        return records

    def get(self, ref: str | RunRecord) -> RunRecord:
        """The run named by ``ref``: 'model', 'model:3', 'model:alias', 'model-3' or a unique run name."""
        snap = self._scan()
        model, version, manifest = self._resolve(ref, snap=snap)
        try:
            return record_from_dir(self._run_dir(model, version), manifest,
                                   snap.aliases_by_version(model).get(version, []))
        except RegistryError as exc:
            raise damaged_error(f"{model}-{version}", str(exc)) from None

    def identify(self, ref: str | RunRecord) -> str:
        """The id of the run ``ref`` names now, a damaged run's too (for a prompt before ``delete(expect=)``)."""
        model, version, _ = self._resolve(ref, allow_damaged=True)
        return f"{model}-{version}"

    def load_state(self, ref: str | RunRecord) -> dict[str, "torch.Tensor"]:
        """The run's tensors (CPU), after checking model.safetensors against the manifest's sha256."""
        model, version, _ = self._resolve(ref)
        run_dir = self._run_dir(model, version)
        entry = read_manifest(run_dir)["files"][paths.WEIGHTS]
        return read_safetensors(run_dir / paths.WEIGHTS, entry["sha256"], entry.get("bytes"))

    def verify(self, ref: str | RunRecord, files: tuple[str, ...] | None = None) -> RunRecord:
        """Check every file of the run (or only ``files``) against its manifest's size and sha256; raises
        RegistryError naming the bad file. A manifest replaced during the check (a concurrent metrics update)
        is read again, so a concurrent update is never reported as corruption."""
        model, version, _ = self._resolve(ref)
        run_dir = self._run_dir(model, version)
        for attempt in range(3):
            manifest = read_manifest(run_dir)
            try:
                for fname, entry in manifest["files"].items():
                    if files is None or fname in files:
                        check_sha256(run_dir / fname, entry["sha256"], entry.get("bytes"))
                break
            except RegistryError:
                if attempt == 2 or read_manifest(run_dir) == manifest:
                    raise
        return self.get(f"{model}:{version}")

    # ------------------------------------------------------------------ housekeeping (housekeeping.py)

    def damaged(self, model: str | None = None) -> list[tuple[str, Path, str]]:
        """Runs that cannot be read, as (run id, folder, what is wrong); ``zoo runs rm`` removes them."""
        return housekeeping.damaged(self.home, model)

    def checkpoint_dir(self, key: str) -> Path:
        """A directory for a training job's checkpoints, ``home/checkpoints/<key>`` (created)."""
        return make_dirs(housekeeping.checkpoint_path(self.home, key))

    def claim_checkpoint(self, key: str, doing: str = "training") -> Claim:
        """Create ``checkpoints/<key>`` and hold it for this process (``doing``: training or resuming) until
        the claim is released or the process ends; a folder held by a live process raises RegistryError
        naming it. ``gc`` never touches a held folder."""
        return housekeeping.claim_checkpoint(self.home, key, doing)

    def list_checkpoints(self) -> list[Path]:
        """Checkpoint directories holding a file (a resumable run), sorted by name."""
        return housekeeping.list_checkpoints(self.home)

    def checkpoints(self) -> list[housekeeping.CheckpointInfo]:
        """The resumable checkpoints: model, dataset, epochs done, who is using it, the resume command."""
        return housekeeping.checkpoints(self.home)

    def remove_checkpoint(self, key: str) -> None:
        """Delete ``home/checkpoints/<key>`` (moved to trash first); a missing key is not an error."""
        path = housekeeping.checkpoint_path(self.home, key)
        if path.is_dir():
            with self._lock():
                housekeeping.to_trash(self.home, path)

    def gc(self, max_age_s: float = 3600) -> list[Path]:
        """Clean what dead processes left (see ``housekeeping.gc``); returns what was removed."""
        return housekeeping.gc(self.home, max_age_s)

    # ------------------------------------------------------------------ internals

    def _run_dir(self, model: str, version: int) -> Path:
        return self.home / paths.RUNS / model / str(version)

    def _lock(self):
        return housekeeping.registry_lock(self.home)

    def _scan(self) -> Snapshot:
        return scan(self.home)

    def _resolve(self, ref: str | RunRecord, allow_damaged: bool = False,
                 snap: Snapshot | None = None) -> tuple[str, int, dict[str, Any]]:
        snap = snap or self._scan()
        if isinstance(ref, RunRecord):
            key = storage_name(ref.model)
            if ref.version in snap.runs.get(key, {}):
                return key, ref.version, snap.runs[key][ref.version]
            raise unknown_ref(ref.id, choices(snap), str(self.home))
        return resolve(snap, storage_name(ref), str(self.home), allow_damaged)  # PLUGIN/MODEL: runs in PLUGIN.MODEL

    def _check_name_free(self, name: str, snap: Snapshot) -> None:
        taken = [f"{m}-{v}" for m, v in snap.named(name)]
        if taken:
            raise RegistryError(f"run name {name!r} is already used by {', '.join(taken)}; pick another name "
                                "(or leave it out: runs are also named by id)")
        validate_run_name(name, [*snap.runs, *snap.damaged])

    def _check_checkpoint_unsaved(self, key: str, snap: Snapshot) -> None:
        """Refuse a second run of one checkpoint: a run whose config names ``key`` exists."""
        for model in sorted(snap.runs):
            for version in sorted(snap.runs[model]):
                try:
                    config = read_json(self._run_dir(model, version) / paths.CONFIG)
                except RegistryError:
                    continue  # damaged: it names no checkpoint anyone can see
                if isinstance(config, dict) and config.get("checkpoint_key") == key:
                    raise CheckpointSavedError(f"checkpoint {key} was already saved as run {model}-{version}; "
                                               "it is not saved twice")

    @staticmethod
    def _reserve_version(model_dir: Path) -> int:
        """Claim the next free version by creating its (empty) directory: os.mkdir is atomic."""
        taken = [int(p.name) for p in model_dir.iterdir() if is_version(p.name)]
        version = max(taken, default=0) + 1
        while True:
            try:
                os.mkdir(model_dir / str(version))
                return version
            except FileExistsError:
                version += 1


def _label(ref: str | RunRecord) -> str:
    return ref.id if isinstance(ref, RunRecord) else ref
