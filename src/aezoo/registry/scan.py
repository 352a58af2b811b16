"""What is on disk, read in one pass: every run with a valid manifest, the damaged runs with what is wrong, and
the aliases. References are resolved against such a snapshot (refs.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aezoo.errors import RegistryError
from aezoo.registry import paths
from aezoo.registry.record import read_manifest

LATEST = "latest"
_VERSION = re.compile(r"[0-9]+")

Runs = dict[str, dict[int, dict[str, Any]]]  # model -> version -> manifest


def is_version(name: str) -> bool:
    """Whether a folder name is a version number (1, 2, ...)."""
    return bool(_VERSION.fullmatch(name)) and int(name) > 0


def entries(root: Path) -> list[Path]:
    """The folders inside ``root`` not starting with '.' (none when ``root`` is missing)."""
    try:
        return [p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    except OSError:  # missing, not a folder, a dangling link
        return []


@dataclass(frozen=True)
class Snapshot:
    """The registry as read at one moment."""

    runs: Runs = field(default_factory=dict)
    damaged: dict[str, dict[int, str]] = field(default_factory=dict)  # model -> version -> what is wrong
    tags: dict[str, dict[str, int]] = field(default_factory=dict)  # model -> user alias -> version (as written)

    def aliases(self, model: str) -> dict[str, int]:
        """alias -> version for ``model``, with ``latest`` computed; aliases to missing runs are left out."""
        versions = self.runs.get(model, {})
        if not versions:
            return {}
        found = {a: v for a, v in sorted(self.tags.get(model, {}).items()) if v in versions}
        return {**found, LATEST: max(versions)}

    def aliases_by_version(self, model: str) -> dict[int, list[str]]:
        """version -> its aliases, ``latest`` first."""
        by_version: dict[int, list[str]] = {}
        for alias, version in sorted(self.aliases(model).items(), key=lambda kv: kv[0] != LATEST):
            by_version.setdefault(version, []).append(alias)
        return by_version

    def named(self, name: str) -> list[tuple[str, int]]:
        """The runs whose name is ``name``, as (model, version)."""
        return sorted((m, v) for m, vs in self.runs.items() for v, manifest in vs.items()
                      if manifest.get("name") == name)


def scan(home: Path) -> Snapshot:
    """Read every version folder's manifest and every alias under ``home``. An empty version folder (a
    reservation or a tombstone) and a run being deleted are neither runs nor damaged."""
    runs: Runs = {}
    damaged: dict[str, dict[int, str]] = {}
    for model_dir in entries(home / paths.RUNS):
        for run_dir in entries(model_dir):
            if not is_version(run_dir.name):
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
    tags = {model: {p.name: v for p in alias_files(home, model) if (v := read_alias(p)) is not None}
            for model in runs}
    return Snapshot(runs, damaged, tags)


def alias_files(home: Path, model: str) -> list[Path]:
    """The files of ``aliases/<model>/`` (one per user alias)."""
    try:
        return [p for p in (home / paths.ALIASES / model).iterdir() if p.is_file() and not p.name.startswith(".")]
    except OSError:
        return []


def read_alias(path: Path) -> int | None:
    """The version an alias file names; None when unreadable."""
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if _VERSION.fullmatch(text) else None
