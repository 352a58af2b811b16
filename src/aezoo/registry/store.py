"""The Registry: saves, finds, verifies, tags and deletes runs under one home directory."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aezoo.errors import RegistryError
from aezoo.registry import paths
from aezoo.registry.files import (
    atomic_write_bytes,
    atomic_write_json,
    check_sha256,
    dumps_json,
    file_entry,
    fsync_dir,
    read_safetensors,
    umask,
    write_new,
    write_safetensors,
)
from aezoo.registry.lock import file_lock
from aezoo.registry.record import MANIFEST_FORMAT, RunRecord, read_manifest, record_from_dir, run_metrics
from aezoo.registry.refs import (
    LATEST,
    split_ref,
    split_run_id,
    storage_name,
    unknown_ref,
    validate_alias,
    validate_model_name,
    validate_name,
)

if TYPE_CHECKING:
    import torch

_VERSION = re.compile(r"[0-9]+")
Runs = dict[str, dict[int, dict[str, Any]]]  # model -> version -> manifest


def _is_version(name: str) -> bool:
    return bool(_VERSION.fullmatch(name)) and int(name) > 0


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
    ) -> RunRecord:
        """Store a new run as the next version of ``model_name`` (a plain name, or ``PLUGIN/MODEL``, stored under
        ``storage_name``); it becomes ``<model>:latest``."""
        key = storage_name(validate_model_name(model_name))
        if name is not None:
            validate_name(name, "run name")
        for what, value, kind in (
            ("hyperparameters", hyperparameters, dict),
            ("config", config, dict),
            ("metrics", metrics, dict),
            ("history", history, list),
        ):
            if not isinstance(value, kind):
                raise RegistryError(f"{what} must be a {kind.__name__}, got {type(value).__name__}")
        shape = [int(d) for d in input_shape]
        merged = {**config, "model": model_name, "hyperparameters": hyperparameters, "input_shape": shape}
        sidecars = {
            paths.CONFIG: dumps_json(merged, "config").encode(),
            paths.HISTORY: dumps_json(history, "history").encode(),
        }
        metrics_json = dumps_json(metrics, "metrics")
        hp_json = dumps_json(hyperparameters, "hyperparameters")

        model_dir = self.home / paths.RUNS / key
        model_dir.mkdir(parents=True, exist_ok=True)
        staging_root = self.home / paths.STAGING
        staging_root.mkdir(parents=True, exist_ok=True)
        version = self._reserve_version(model_dir)
        run_id = f"{key}-{version}"
        target = model_dir / str(version)
        stage = Path(tempfile.mkdtemp(prefix=f"{run_id}.{os.getpid()}.", dir=staging_root))
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
            with self._lock():  # names are checked and the run appears under the lock: names stay unique
                if name is not None:
                    self._check_name_free(name)
                os.rename(stage, target)  # replaces the empty reserved dir in one step: the run appears whole
                fsync_dir(model_dir)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            with contextlib.suppress(OSError):
                target.rmdir()  # give the reservation back if it is still empty
            raise
        return self.get(f"{key}:{version}")

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
            alias_dir = self.home / paths.ALIASES / model
            alias_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(alias_dir / alias, f"{version}\n".encode())
        return self.get(f"{model}:{version}")

    def untag(self, model: str, alias: str) -> None:
        """Remove the user alias ``<model>:<alias>``."""
        model = validate_name(storage_name(model), "model name")
        validate_alias(alias)
        with self._lock():
            path = self.home / paths.ALIASES / model / alias
            if not path.is_file():
                known = sorted(self._alias_map(model, self._scan().get(model, {})))
                raise RegistryError(f"{model} has no alias {alias!r} (aliases: {', '.join(known) or 'none'})")
            path.unlink()

    def delete(self, ref: str | RunRecord) -> str:
        """Delete a run (a damaged one too) and the aliases pointing at it; returns its id.

        The run's folder is never removed, so its version number is never reused and no alias can come to
        name another run: its manifest is renamed to ``.deleting`` (the run disappears in one step), the other
        files go, and the empty folder stays as a tombstone. ``gc`` finishes a delete a crash interrupted."""
        with self._lock():
            model, version, _ = self._resolve(ref, allow_damaged=True)
            for alias_file in self._alias_files(model):
                if _read_alias(alias_file) == version:
                    alias_file.unlink(missing_ok=True)
            run_dir = self._run_dir(model, version)
            marker = run_dir / paths.DELETING
            if (run_dir / paths.MANIFEST).exists():
                os.rename(run_dir / paths.MANIFEST, marker)
            else:
                marker.touch()
            fsync_dir(run_dir)
            self._empty_deleted(run_dir)
        return f"{model}-{version}"

    # ------------------------------------------------------------------ reading

    def list(self, model: str | None = None) -> list[RunRecord]:
        """Complete runs, sorted by model then version; ``model`` keeps only that model's runs."""
        runs = self._scan()
        records = []
        for name in sorted(runs):
            if model is not None and name != storage_name(model):
                continue
            aliases = self._aliases_by_version(name, runs[name])
            for version in sorted(runs[name]):
                run_dir = self._run_dir(name, version)
                try:
                    records.append(record_from_dir(run_dir, runs[name][version], aliases.get(version, [])))
                except RegistryError:
                    continue  # damaged: see damaged()
        return records

    def get(self, ref: str | RunRecord) -> RunRecord:
        """The run named by ``ref``: 'model', 'model:3', 'model:alias', 'model-3' or a unique run name."""
        model, version, manifest = self._resolve(ref)
        aliases = self._aliases_by_version(model, self._scan().get(model, {}))
        try:
            return record_from_dir(self._run_dir(model, version), manifest, aliases.get(version, []))
        except RegistryError as exc:
            raise _damaged_error(f"{model}-{version}", str(exc)) from None

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

    def damaged(self, model: str | None = None) -> list[tuple[str, Path, str]]:
        """Runs that cannot be read, as (run id, folder, what is wrong); ``zoo runs rm`` removes them."""
        out = []
        runs, broken = self._scan_all()
        for name in sorted(set(runs) | set(broken)):
            if model is not None and name != model:
                continue
            found = dict(broken.get(name, {}))
            for version, manifest in runs.get(name, {}).items():
                try:
                    record_from_dir(self._run_dir(name, version), manifest, [])
                except RegistryError as exc:
                    found[version] = str(exc)
            out += [(f"{name}-{v}", self._run_dir(name, v), found[v]) for v in sorted(found)]
        return out

    # ------------------------------------------------------------------ checkpoints and housekeeping

    def checkpoint_dir(self, key: str) -> Path:
        """A directory for a training job's checkpoints, ``home/checkpoints/<key>`` (created)."""
        path = self.home / paths.CHECKPOINTS / validate_name(key, "checkpoint key")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def list_checkpoints(self) -> list[Path]:
        """Checkpoint directories holding a file (a resumable run), sorted by name."""
        root = self.home / paths.CHECKPOINTS
        if not root.is_dir():
            return []
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                      and any(f.is_file() and not f.name.startswith(".") for f in p.iterdir()))

    def remove_checkpoint(self, key: str) -> None:
        """Delete ``home/checkpoints/<key>`` (moved to trash first); a missing key is not an error."""
        path = self.home / paths.CHECKPOINTS / validate_name(key, "checkpoint key")
        if path.is_dir():
            with self._lock():
                self._trash(path)

    def gc(self, max_age_s: float = 3600) -> list[Path]:
        """Clean what crashed processes left, under the registry's lock: staging folders of processes that
        are gone (or older than ``max_age_s``), trash, deletes a crash interrupted, empty checkpoint folders
        older than ``max_age_s``, and empty version folders below each model's highest one (the highest stays,
        so version numbers are never reused). Returns what was removed."""
        removed: list[Path] = []
        now = time.time()

        def old(path: Path) -> bool:
            with contextlib.suppress(FileNotFoundError):
                return now - path.stat().st_mtime > max_age_s
            return False

        with self._lock():
            for entry in _entries(self.home / paths.STAGING):
                if not _owner_alive(entry.name) or old(entry):
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry)
            for entry in _entries(self.home / paths.TRASH):  # trash is only used under this lock
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
            for model_dir in _entries(self.home / paths.RUNS):
                versions = sorted((p for p in _entries(model_dir) if _is_version(p.name)), key=lambda p: int(p.name))
                for run_dir in versions:
                    if (run_dir / paths.DELETING).exists():
                        self._empty_deleted(run_dir)
                        removed.append(run_dir)
                for run_dir in versions[:-1]:
                    if not any(run_dir.iterdir()) and old(run_dir):
                        with contextlib.suppress(OSError):
                            run_dir.rmdir()
                            removed.append(run_dir)
            for ckpt in _entries(self.home / paths.CHECKPOINTS):
                if not any(f.is_file() and not f.name.startswith(".") for f in ckpt.iterdir()) and old(ckpt):
                    shutil.rmtree(ckpt, ignore_errors=True)
                    removed.append(ckpt)
        return removed

    # ------------------------------------------------------------------ internals

    def _run_dir(self, model: str, version: int) -> Path:
        return self.home / paths.RUNS / model / str(version)

    def _lock(self):
        return file_lock(self.home / paths.LOCK)

    def _empty_deleted(self, run_dir: Path) -> None:
        """Move a deleted run's files out through the trash, ``.deleting`` last; the empty folder stays."""
        trash_root = self.home / paths.TRASH
        trash_root.mkdir(parents=True, exist_ok=True)
        trash = Path(tempfile.mkdtemp(prefix=f"{run_dir.parent.name}-{run_dir.name}.", dir=trash_root))
        for entry in run_dir.iterdir():
            if entry.name != paths.DELETING:
                os.rename(entry, trash / entry.name)
        shutil.rmtree(trash, ignore_errors=True)
        (run_dir / paths.DELETING).unlink(missing_ok=True)
        fsync_dir(run_dir)

    def _check_name_free(self, name: str) -> None:
        runs = self._scan()
        taken = [m["id"] for vs in runs.values() for m in vs.values() if m.get("name") == name]
        if taken:
            raise RegistryError(f"run name {name!r} is already used by {', '.join(taken)}; pick another name "
                                "(or leave it out: runs are also named by id)")

    def _trash(self, path: Path) -> None:
        trash_root = self.home / paths.TRASH
        trash_root.mkdir(parents=True, exist_ok=True)
        trash = Path(tempfile.mkdtemp(prefix=f"{path.name}.", dir=trash_root))
        os.rename(path, trash / path.name)
        shutil.rmtree(trash, ignore_errors=True)

    @staticmethod
    def _reserve_version(model_dir: Path) -> int:
        """Claim the next free version by creating its (empty) directory: os.mkdir is atomic."""
        taken = [int(p.name) for p in model_dir.iterdir() if _is_version(p.name)]
        version = max(taken, default=0) + 1
        while True:
            try:
                os.mkdir(model_dir / str(version))
                return version
            except FileExistsError:
                version += 1

    def _scan(self) -> Runs:
        """Every run with a valid manifest (model -> version -> manifest)."""
        return self._scan_all()[0]

    def _scan_all(self) -> tuple[Runs, dict[str, dict[int, str]]]:
        """(runs with a valid manifest, damaged runs as model -> version -> reason). An empty version folder
        (a reservation or a tombstone) and a run being deleted are neither."""
        runs: Runs = {}
        damaged: dict[str, dict[int, str]] = {}
        for model_dir in _entries(self.home / paths.RUNS):
            for run_dir in _entries(model_dir):
                if not _is_version(run_dir.name):
                    continue
                try:
                    names = {p.name for p in run_dir.iterdir()}
                except OSError:
                    continue
                if not names or paths.DELETING in names:
                    continue
                try:
                    if paths.MANIFEST not in names:
                        raise RegistryError(f"{run_dir / paths.MANIFEST}: file is missing")
                    runs.setdefault(model_dir.name, {})[int(run_dir.name)] = read_manifest(run_dir)
                except RegistryError as exc:
                    damaged.setdefault(model_dir.name, {})[int(run_dir.name)] = str(exc)
        return runs, damaged

    def _alias_files(self, model: str) -> list[Path]:
        alias_dir = self.home / paths.ALIASES / model
        if not alias_dir.is_dir():
            return []
        return [p for p in alias_dir.iterdir() if p.is_file() and not p.name.startswith(".")]

    def _alias_map(self, model: str, versions: dict[int, Any]) -> dict[str, int]:
        """alias -> version for ``model``, with ``latest`` computed; aliases to missing runs are ignored."""
        if not versions:
            return {}
        found = {p.name: _read_alias(p) for p in self._alias_files(model)}
        aliases = {a: v for a, v in sorted(found.items()) if v in versions}
        aliases[LATEST] = max(versions)
        return aliases

    def _aliases_by_version(self, model: str, versions: dict[int, Any]) -> dict[int, list[str]]:
        by_version: dict[int, list[str]] = {}
        for alias, version in sorted(self._alias_map(model, versions).items(), key=lambda kv: kv[0] != LATEST):
            by_version.setdefault(version, []).append(alias)
        return by_version

    def _resolve(self, ref: str | RunRecord, allow_damaged: bool = False) -> tuple[str, int, dict[str, Any]]:
        """(model, version, manifest) of the complete run named by ``ref``. A damaged run named by
        MODEL:VERSION or its run id raises an error saying so, or (``allow_damaged``) gives an empty manifest."""
        runs, broken = self._scan_all()
        ref = storage_name(ref)  # PLUGIN/MODEL names the runs stored as PLUGIN.MODEL
        if isinstance(ref, str) and broken:
            model, selector = split_ref(ref)
            named = (model, int(selector)) if selector and _VERSION.fullmatch(selector) else split_run_id(ref)
            if named and named[1] in broken.get(named[0], {}):
                if allow_damaged:
                    return named[0], named[1], {}
                raise _damaged_error(f"{named[0]}-{named[1]}", broken[named[0]][named[1]])
        if isinstance(ref, RunRecord):
            key = storage_name(ref.model)
            if ref.version in runs.get(key, {}):
                return key, ref.version, runs[key][ref.version]
            raise unknown_ref(ref.id, self._choices(runs), str(self.home))
        model, selector = split_ref(ref)
        if selector is not None:
            if model not in runs:
                raise unknown_ref(ref, self._choices(runs), str(self.home))
            if _VERSION.fullmatch(selector):
                version = int(selector)
                if version not in runs[model]:
                    listed = ", ".join(map(str, sorted(runs[model])))
                    raise RegistryError(f"{model} has no version {version} (versions: {listed})")
                return model, version, runs[model][version]
            aliases = self._alias_map(model, runs[model])
            if selector not in aliases:
                raise RegistryError(
                    f"{model} has no alias {selector!r} (aliases: {', '.join(sorted(aliases))}); "
                    f"tag a run with `Registry.tag(ref, {selector!r})`"
                )
            return model, aliases[selector], runs[model][aliases[selector]]
        if ref in runs:
            version = max(runs[ref])
            return ref, version, runs[ref][version]
        run_id = split_run_id(ref)
        if run_id and run_id[1] in runs.get(run_id[0], {}):
            return run_id[0], run_id[1], runs[run_id[0]][run_id[1]]
        named = [(m, v) for m in runs for v in runs[m] if runs[m][v].get("name") == ref]
        if len(named) > 1:
            ids = ", ".join(runs[m][v]["id"] for m, v in sorted(named))
            raise RegistryError(f"run name {ref!r} is ambiguous: it names {ids}; use one of those run ids")
        if named:
            m, v = named[0]
            return m, v, runs[m][v]
        raise unknown_ref(ref, self._choices(runs), str(self.home))

    def _choices(self, runs: Runs) -> list[str]:
        """Every valid reference, for error messages: models, run ids, user aliases, run names."""
        choices: list[str] = []
        for model in sorted(runs):
            choices.append(model)
            choices += [f"{model}:{a}" for a in self._alias_map(model, runs[model]) if a != LATEST]
            choices += [runs[model][v]["id"] for v in sorted(runs[model])]
        names = sorted({m.get("name") for vs in runs.values() for m in vs.values() if m.get("name")})
        return choices + [n for n in names if n not in choices]


def _damaged_error(run_id: str, reason: str) -> RegistryError:
    return RegistryError(f"run {run_id} is damaged: {reason}. Remove it with `zoo runs rm {run_id}` "
                         "(or check all runs with `zoo runs verify`)")


def _entries(root: Path) -> list[Path]:
    """The folders inside ``root`` not starting with '.' (none when ``root`` is missing)."""
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]


def _owner_alive(staging_name: str) -> bool:
    """Whether the process that made a staging folder ``RUNID.PID.xxx`` still runs (True when unknown)."""
    parts = staging_name.split(".")
    if len(parts) < 3 or not parts[-2].isdigit():
        return True
    try:
        os.kill(int(parts[-2]), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _read_alias(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if _VERSION.fullmatch(text) else None
