"""RunRecord: what the registry knows about one saved run, read from its manifest and sidecar JSON."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aezoo.errors import RegistryError
from aezoo.registry import paths
from aezoo.registry.files import read_json
from aezoo.registry.refs import storage_name

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class RunRecord:
    """One complete run in the registry."""

    id: str
    model: str
    version: int
    name: str | None
    path: Path
    created: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    aliases: list[str]
    sha256: str
    aezoo_version: str = ""
    files: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def weights_path(self) -> Path:
        """Path of the run's ``model.safetensors``."""
        return self.path / paths.WEIGHTS

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters the model was built with."""
        return dict(self.config.get("hyperparameters", {}))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The (C, H, W) input shape the model was built for."""
        return tuple(self.config.get("input_shape", ()))

    @property
    def history(self) -> list[dict[str, Any]]:
        """Per-epoch training history, loaded from ``history.json`` on each access."""
        return read_json(self.path / paths.HISTORY)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict, stable keys: id, model, version, name, created, aliases, path, sha256, metrics, config."""
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "name": self.name,
            "created": self.created,
            "aliases": list(self.aliases),
            "path": str(self.path),
            "sha256": self.sha256,
            "metrics": self.metrics,
            "config": self.config,
        }


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of ``run_dir``, checked for the fields a complete run has; else RegistryError."""
    path = run_dir / paths.MANIFEST
    manifest = read_json(path)
    if not isinstance(manifest, dict):
        raise RegistryError(f"{path}: expected a JSON object, found {type(manifest).__name__}; the file is corrupt")
    try:
        ok = (
            manifest["format"] == MANIFEST_FORMAT
            and isinstance(manifest["model"], str)
            and manifest["version"] == int(run_dir.name)
            and storage_name(manifest["model"]) == run_dir.parent.name
            and isinstance(manifest["files"][paths.WEIGHTS]["sha256"], str)
            and all(isinstance(e["sha256"], str) for e in manifest["files"].values())
        )
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise RegistryError(f"{path}: malformed manifest (missing fields or not matching its directory)")
    return manifest


def read_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object; else RegistryError naming the file."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise RegistryError(f"{path}: expected a JSON object, found {type(value).__name__}; the file is corrupt")
    return value


def run_metrics(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The run's metrics: the manifest's ``metrics`` (the one source), else metrics.json (older runs)."""
    if "metrics" in manifest:
        if not isinstance(manifest["metrics"], dict):
            raise RegistryError(f"{run_dir / paths.MANIFEST}: 'metrics' is not an object; the file is corrupt")
        return manifest["metrics"]
    return read_object(run_dir / paths.METRICS)


def record_from_dir(run_dir: Path, manifest: dict[str, Any], aliases: list[str]) -> RunRecord:
    """Build the RunRecord of a complete run directory (reads config.json; metrics from the manifest)."""
    return RunRecord(
        id=manifest["id"],
        model=manifest["model"],
        version=manifest["version"],
        name=manifest.get("name"),
        path=run_dir,
        created=manifest.get("created", ""),
        config=read_object(run_dir / paths.CONFIG),
        metrics=run_metrics(run_dir, manifest),
        aliases=aliases,
        sha256=manifest["files"][paths.WEIGHTS]["sha256"],
        aezoo_version=manifest.get("aezoo_version", ""),
        files=manifest["files"],
    )
