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
    read_json,
    read_safetensors,
    umask,
    write_new,
    write_safetensors,
)
from aezoo.registry.lock import file_lock
from aezoo.registry.record import MANIFEST_FORMAT, RunRecord, read_manifest, record_from_dir
from aezoo.registry.refs import (
    LATEST,
    split_ref,
    split_run_id,
    unknown_ref,
    validate_alias,
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
        """Store a new run as the next version of ``model_name``; it becomes ``<model>:latest``."""
        validate_name(model_name, "model name")
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
            paths.METRICS: dumps_json(metrics, "metrics").encode(),
            paths.HISTORY: dumps_json(history, "history").encode(),
        }
        hp_json = dumps_json(hyperparameters, "hyperparameters")

        model_dir = self.home / paths.RUNS / model_name
        model_dir.mkdir(parents=True, exist_ok=True)
        staging_root = self.home / paths.STAGING
        staging_root.mkdir(parents=True, exist_ok=True)
        version = self._reserve_version(model_dir)
        run_id = f"{model_name}-{version}"
        target = model_dir / str(version)
        stage = Path(tempfile.mkdtemp(prefix=f"{run_id}.", dir=staging_root))
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
            manifest = {
                "format": MANIFEST_FORMAT,
                "id": run_id,
                "model": model_name,
                "version": version,
                "name": name,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "aezoo_version": aezoo.__version__,
                "files": {f: file_entry(stage / f) for f in (paths.WEIGHTS, *sidecars)},
            }
            write_new(stage / paths.MANIFEST, dumps_json(manifest).encode())
            fsync_dir(stage)
            os.rename(stage, target)  # replaces the empty reserved dir in one step: the run appears whole
            fsync_dir(model_dir)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            with contextlib.suppress(OSError):
                target.rmdir()  # give the reservation back if it is still empty
            raise
        return self.get(f"{model_name}:{version}")

    def update_metrics(self, ref: str | RunRecord, metrics: dict[str, Any]) -> RunRecord:
        """Merge ``metrics`` into the run's metrics.json (atomically) and update its manifest hash."""
        if not isinstance(metrics, dict):
            raise RegistryError(f"metrics must be a dict, got {type(metrics).__name__}")
        with self._lock():
            model, version, manifest = self._resolve(ref)
            run_dir = self._run_dir(model, version)
            merged = {**read_json(run_dir / paths.METRICS), **metrics}
            atomic_write_bytes(run_dir / paths.METRICS, dumps_json(merged, "metrics").encode())
            manifest["files"][paths.METRICS] = file_entry(run_dir / paths.METRICS)
            atomic_write_json(run_dir / paths.MANIFEST, manifest)
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
        validate_name(model, "model name")
        validate_alias(alias)
        with self._lock():
            path = self.home / paths.ALIASES / model / alias
            if not path.is_file():
                known = sorted(self._alias_map(model, self._scan().get(model, {})))
                raise RegistryError(f"{model} has no alias {alias!r} (aliases: {', '.join(known) or 'none'})")
            path.unlink()

    def delete(self, ref: str | RunRecord) -> str:
        """Delete a run and the aliases pointing at it; returns its id. Version numbers are never reused."""
        with self._lock():
            model, version, manifest = self._resolve(ref)
            run_dir = self._run_dir(model, version)
            trash_root = self.home / paths.TRASH
            trash_root.mkdir(parents=True, exist_ok=True)
            trash = Path(tempfile.mkdtemp(prefix=f"{model}-{version}.", dir=trash_root))
            os.rename(run_dir, trash / "run")  # the run disappears in one step
            with contextlib.suppress(FileExistsError):
                os.mkdir(run_dir)  # empty tombstone: keeps the version number taken, never listed
            fsync_dir(run_dir.parent)
            for alias_file in self._alias_files(model):
                if _read_alias(alias_file) == version:
                    alias_file.unlink(missing_ok=True)
            shutil.rmtree(trash, ignore_errors=True)
        return manifest["id"]

    # ------------------------------------------------------------------ reading

    def list(self, model: str | None = None) -> list[RunRecord]:
        """Complete runs, sorted by model then version; ``model`` keeps only that model's runs."""
        runs = self._scan()
        records = []
        for name in sorted(runs):
            if model is not None and name != model:
                continue
            aliases = self._aliases_by_version(name, runs[name])
            for version in sorted(runs[name]):
                run_dir = self._run_dir(name, version)
                records.append(record_from_dir(run_dir, runs[name][version], aliases.get(version, [])))
        return records

    def get(self, ref: str | RunRecord) -> RunRecord:
        """The run named by ``ref``: 'model', 'model:3', 'model:alias', 'model-3' or a unique run name."""
        model, version, manifest = self._resolve(ref)
        aliases = self._aliases_by_version(model, self._scan().get(model, {}))
        return record_from_dir(self._run_dir(model, version), manifest, aliases.get(version, []))

    def load_state(self, ref: str | RunRecord) -> dict[str, "torch.Tensor"]:
        """The run's tensors (CPU), after checking model.safetensors against the manifest's sha256."""
        model, version, _ = self._resolve(ref)
        run_dir = self._run_dir(model, version)
        manifest = read_manifest(run_dir)
        return read_safetensors(run_dir / paths.WEIGHTS, manifest["files"][paths.WEIGHTS]["sha256"])

    def verify(self, ref: str | RunRecord) -> RunRecord:
        """Check every file of the run against its manifest hash; raises RegistryError naming the bad file."""
        model, version, _ = self._resolve(ref)
        run_dir = self._run_dir(model, version)
        for fname, entry in read_manifest(run_dir)["files"].items():
            check_sha256(run_dir / fname, entry["sha256"])
        return self.get(f"{model}:{version}")

    # ------------------------------------------------------------------ checkpoints and housekeeping

    def checkpoint_dir(self, key: str) -> Path:
        """A directory for a training job's checkpoints, ``home/checkpoints/<key>`` (created)."""
        path = self.home / paths.CHECKPOINTS / validate_name(key, "checkpoint key")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def list_checkpoints(self) -> list[Path]:
        """Checkpoint directories, sorted by name."""
        root = self.home / paths.CHECKPOINTS
        if not root.is_dir():
            return []
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def remove_checkpoint(self, key: str) -> None:
        """Delete ``home/checkpoints/<key>`` (moved to trash first); a missing key is not an error."""
        path = self.home / paths.CHECKPOINTS / validate_name(key, "checkpoint key")
        if path.is_dir():
            self._trash(path)

    def gc(self, max_age_s: float = 24 * 3600) -> list[Path]:
        """Remove staging and trash leftovers older than ``max_age_s`` (from crashed processes)."""
        removed = []
        now = time.time()
        for root in (self.home / paths.STAGING, self.home / paths.TRASH):
            if not root.is_dir():
                continue
            for entry in root.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if now - entry.stat().st_mtime > max_age_s:
                        shutil.rmtree(entry, ignore_errors=True)
                        removed.append(entry)
        return removed

    # ------------------------------------------------------------------ internals

    def _run_dir(self, model: str, version: int) -> Path:
        return self.home / paths.RUNS / model / str(version)

    def _lock(self):
        return file_lock(self.home / paths.LOCK)

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
        """Every complete run (a version dir with a valid manifest); staging, trash and tombstones are skipped."""
        runs: Runs = {}
        root = self.home / paths.RUNS
        if not root.is_dir():
            return runs
        for model_dir in root.iterdir():
            if model_dir.name.startswith(".") or not model_dir.is_dir():
                continue
            for run_dir in model_dir.iterdir():
                if not _is_version(run_dir.name) or not (run_dir / paths.MANIFEST).is_file():
                    continue
                try:
                    runs.setdefault(model_dir.name, {})[int(run_dir.name)] = read_manifest(run_dir)
                except RegistryError:
                    continue  # incomplete or being deleted: not a run
        return runs

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

    def _resolve(self, ref: str | RunRecord) -> tuple[str, int, dict[str, Any]]:
        """(model, version, manifest) of the complete run named by ``ref``."""
        runs = self._scan()
        if isinstance(ref, RunRecord):
            if ref.version in runs.get(ref.model, {}):
                return ref.model, ref.version, runs[ref.model][ref.version]
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


def _read_alias(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if _VERSION.fullmatch(text) else None
