"""What processes leave behind, and cleaning it: damaged runs, training checkpoints (claimed by their process,
listed with their resume command) and `gc` of staging folders, trash, interrupted deletes and empty folders.
Nothing here touches a folder whose owner process is alive."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aezoo.errors import RegistryError
from aezoo.registry import paths
from aezoo.registry.files import fsync_dir, make_dirs
from aezoo.registry.lock import Claim, ClaimedError, describe, file_lock, holder, tag_alive
from aezoo.registry.record import record_from_dir
from aezoo.registry.refs import validate_name
from aezoo.registry.scan import entries, is_version, scan

HEADER_LIMIT = 64 << 20  # a checkpoint header (the training state's JSON skeleton) larger than this is refused


def registry_lock(home: Path):
    """The registry's lock: short read-modify-write sections (save's last step, tag, delete, gc, claims)."""
    return file_lock(home / paths.LOCK)


# ---------------------------------------------------------------------- damaged runs


def damaged(home: Path, model: str | None = None) -> list[tuple[str, Path, str]]:
    """Runs that cannot be read, as (run id, folder, what is wrong): a bad manifest, or a bad config/metrics."""
    snap = scan(home)
    out = []
    for name in sorted(set(snap.runs) | set(snap.damaged)):
        if model is not None and name != model:
            continue
        found = dict(snap.damaged.get(name, {}))
        for version, manifest in snap.runs.get(name, {}).items():
            try:
                record_from_dir(home / paths.RUNS / name / str(version), manifest, [])
            except RegistryError as exc:
                found[version] = str(exc)
        out += [(f"{name}-{v}", home / paths.RUNS / name / str(v), found[v]) for v in sorted(found)]
    return out


def empty_deleted(home: Path, run_dir: Path) -> None:
    """Move a deleted run's files out through the trash, ``.deleting`` last; the empty folder stays."""
    trash_root = make_dirs(home / paths.TRASH)
    trash = Path(tempfile.mkdtemp(prefix=f"{run_dir.parent.name}-{run_dir.name}.", dir=trash_root))
    for entry in run_dir.iterdir():
        if entry.name != paths.DELETING:
            os.rename(entry, trash / entry.name)
    shutil.rmtree(trash, ignore_errors=True)
    (run_dir / paths.DELETING).unlink(missing_ok=True)
    fsync_dir(run_dir)


def to_trash(home: Path, path: Path) -> None:
    """Remove a folder in one step (renamed into the trash), then its files."""
    trash = Path(tempfile.mkdtemp(prefix=f"{path.name}.", dir=make_dirs(home / paths.TRASH)))
    os.rename(path, trash / path.name)
    shutil.rmtree(trash, ignore_errors=True)


# ---------------------------------------------------------------------- checkpoints


def checkpoint_path(home: Path, key: str) -> Path:
    return home / paths.CHECKPOINTS / validate_name(key, "checkpoint key")


def claim_checkpoint(home: Path, key: str, doing: str = "training") -> Claim:
    """Create ``checkpoints/KEY/`` if needed and claim it for this process until the claim is released or the
    process ends: `gc` leaves it alone and a second claim (a second `--resume KEY`) is refused, naming the
    holder. ``claim.folder`` is the folder."""
    folder = checkpoint_path(home, key)
    with registry_lock(home):  # gc and other claims look at the folder under this lock
        make_dirs(folder)
        try:
            return Claim(folder / paths.OWNER, doing)
        except ClaimedError as exc:
            owner = exc.owner
            what = "being resumed" if owner.get("doing") == "resuming" else "in use (its training is running)"
            raise RegistryError(f"checkpoint {key} is {what} by {describe(owner)}; wait for it to finish, "
                                "or stop that process first") from None


def resumable(folder: Path) -> bool:
    """Whether a checkpoint folder holds a file (a checkpoint to resume from)."""
    try:
        return any(f.is_file() and not f.name.startswith(".") for f in folder.iterdir())
    except OSError:
        return False


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint left in the registry: what it trains, how far it got, who (if anyone) is using it."""

    key: str
    path: Path
    modified: str
    model: str | None = None
    dataset: str | None = None
    epochs_done: int | None = None
    epochs: int | None = None
    owner: str | None = None  # "PID n (...)" while a live process holds it
    problem: str | None = None  # why its header could not be read

    @property
    def resume(self) -> str:
        return f"zoo train --resume {self.key}"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "path": str(self.path), "modified": self.modified, "model": self.model,
                "dataset": self.dataset, "epochs_done": self.epochs_done, "epochs": self.epochs,
                "in_use_by": self.owner, "problem": self.problem, "resume": self.resume}


def list_checkpoints(home: Path) -> list[Path]:
    """Checkpoint folders holding a file (a resumable run), sorted by name."""
    return sorted(p for p in entries(home / paths.CHECKPOINTS) if resumable(p))


def checkpoints(home: Path) -> list[CheckpointInfo]:
    """Every resumable checkpoint, described from its header alone (no torch), oldest first."""
    found = []
    for folder in list_checkpoints(home):
        owner = holder(folder / paths.OWNER)
        found.append(_describe_checkpoint(folder, describe(owner) if owner is not None else None))
    return sorted(found, key=lambda c: (c.modified, c.key))


def _describe_checkpoint(folder: Path, owner: str | None) -> CheckpointInfo:
    path = folder / paths.CHECKPOINT
    try:
        mtime = (path if path.exists() else folder).stat().st_mtime
        modified = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(mtime))
    except OSError:
        modified = ""
    try:
        meta = json.loads(safetensors_metadata(path)[paths.CHECKPOINT_META])
        spec, state = meta["spec"], meta["state"]
        return CheckpointInfo(folder.name, folder, modified, model=str(spec["model"]), dataset=str(spec["dataset"]),
                              epochs_done=int(state["epoch"]), epochs=int(spec["train"]["epochs"]), owner=owner)
    except (RegistryError, KeyError, TypeError, ValueError, RecursionError) as exc:
        problem = str(exc) if isinstance(exc, RegistryError) else f"{path}: unexpected header ({exc!r})"
        return CheckpointInfo(folder.name, folder, modified, owner=owner, problem=problem)


def safetensors_metadata(path: Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file, read from its header alone (no torch, bounded size)."""
    try:
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if size > HEADER_LIMIT:
                raise RegistryError(f"{path}: header of {size} bytes (more than {HEADER_LIMIT}); the file is corrupt")
            header = json.loads(f.read(size))
    except (OSError, struct.error, ValueError, RecursionError) as exc:
        raise RegistryError(f"{path}: cannot read the safetensors header ({exc}); the file is corrupt") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict):
        raise RegistryError(f"{path}: no metadata in the safetensors header")
    return meta


# ---------------------------------------------------------------------- gc


def gc(home: Path, max_age_s: float = 3600) -> list[Path]:
    """Clean what dead processes left, under the registry's lock: their staging folders, trash, deletes a crash
    interrupted, unclaimed empty checkpoint folders older than ``max_age_s``, and empty version folders below
    each model's highest one older than that (the highest stays, so version numbers are never reused; one a
    running save reserved stays, so no other save can take its number). A folder whose owner process is
    alive is never touched. Returns what was removed."""
    removed: list[Path] = []
    now = time.time()

    def old(path: Path) -> bool:
        with contextlib.suppress(FileNotFoundError):
            return now - path.stat().st_mtime > max_age_s
        return False

    with registry_lock(home):
        reserved = set()  # run ids whose save is under way: their empty version folder is no tombstone
        for entry in entries(home / paths.STAGING):
            alive = staging_owner_alive(entry.name)
            if alive is False or (alive is None and old(entry)):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
            else:
                reserved.add(entry.name.rsplit(".", 2)[0])
        for entry in entries(home / paths.TRASH):  # trash is only used under this lock
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        for model_dir in entries(home / paths.RUNS):
            versions = sorted((p for p in entries(model_dir) if is_version(p.name)), key=lambda p: int(p.name))
            for run_dir in versions:
                if (run_dir / paths.DELETING).exists():
                    empty_deleted(home, run_dir)
                    removed.append(run_dir)
            for run_dir in versions[:-1]:
                if not any(run_dir.iterdir()) and old(run_dir) and f"{model_dir.name}-{run_dir.name}" not in reserved:
                    with contextlib.suppress(OSError):
                        run_dir.rmdir()
                        removed.append(run_dir)
        for folder in entries(home / paths.CHECKPOINTS):
            if not resumable(folder) and old(folder) and holder(folder / paths.OWNER) is None:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def staging_owner_alive(name: str) -> bool | None:
    """Whether the process that made staging folder ``RUNID.PID-START.xxx`` (older: ``RUNID.PID.xxx``) runs;
    None when the name carries no process."""
    parts = name.split(".")
    return tag_alive(parts[-2]) if len(parts) >= 3 else None
