"""RunRecord: what the registry knows about one saved run, read from its manifest and sidecar JSON."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aezoo.errors import RegistryError
from aezoo.registry import paths
from aezoo.registry.files import read_json
from aezoo.registry.paths import storage_name

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
    """The manifest of ``run_dir``, checked for the fields a complete run has and their types; else
    RegistryError saying what is wrong (a run with such a manifest is damaged)."""
    path = run_dir / paths.MANIFEST
    manifest = read_json(path)
    if not isinstance(manifest, dict):
        raise RegistryError(f"{path}: expected a JSON object, found {type(manifest).__name__}; the file is corrupt")
    problem = _manifest_problem(manifest, run_dir)
    if problem:
        raise RegistryError(f"{path}: malformed manifest ({problem})")
    return manifest


def _manifest_problem(manifest: dict[str, Any], run_dir: Path) -> str | None:
    """What is wrong with a manifest read from ``run_dir`` (fields, types, agreement with its folder), or None."""
    folder, version = run_dir.parent.name, int(run_dir.name)
    model = manifest.get("model")  # PLUGIN/MODEL for a qualified name, stored in the folder PLUGIN.MODEL
    expected = {"format": MANIFEST_FORMAT, "model": model if storage_name(model) == folder else folder,
                "version": version, "id": f"{folder}-{version}"}
    for key, want in expected.items():
        if key not in manifest:
            return f"no {key!r}"
        if type(manifest[key]) is not type(want) or manifest[key] != want:
            return f"{key!r} is {_shown(manifest[key])}, expected {want!r} for its folder"
    for key, kinds, kind in (("name", (str, type(None)), "a string"), ("created", str, "a string"),
                             ("aezoo_version", str, "a string"), ("metrics", dict, "an object")):
        if key in manifest and not isinstance(manifest[key], kinds):
            return f"{key!r} is {_shown(manifest[key])}, not {kind}"
    files = manifest.get("files")
    if not isinstance(files, dict) or paths.WEIGHTS not in files:
        return f"'files' does not list {paths.WEIGHTS}"
    for fname, entry in files.items():
        if Path(fname).name != fname or fname in (".", "..", paths.MANIFEST):
            return f"'files' names {_shown(fname)}, not a file of the run"
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            return f"'files' entry {fname!r} has no sha256"
        size = entry.get("bytes")
        if size is not None and (type(size) is not int or size < 0):
            return f"'files' entry {fname!r} has bytes {_shown(size)}, not a size"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object; else RegistryError naming the file."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise RegistryError(f"{path}: expected a JSON object, found {type(value).__name__}; the file is corrupt")
    return value


def read_config(run_dir: Path) -> dict[str, Any]:
    """A run's config.json: an object whose fields the registry and the builders use have the right types."""
    path = run_dir / paths.CONFIG
    config = read_object(path)
    shape = config.get("input_shape", [])
    checks = (
        ("hyperparameters", isinstance(config.get("hyperparameters", {}), dict), "an object"),
        ("input_shape", isinstance(shape, list) and all(type(d) is int and d > 0 for d in shape),
         "a list of positive integers"),
        ("model", isinstance(config.get("model", ""), str), "a string"),
        ("dataset", isinstance(config.get("dataset"), (str, type(None))), "a string"),
        ("train", isinstance(config.get("train"), (dict, type(None))), "an object"),
        ("checkpoint_key", isinstance(config.get("checkpoint_key"), (str, type(None))), "a string"),
    )
    for key, ok, kind in checks:
        if not ok:
            raise RegistryError(f"{path}: {key!r} is {_shown(config[key])}, not {kind}; the file is corrupt")
    return config


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
        config=read_config(run_dir),
        metrics=run_metrics(run_dir, manifest),
        aliases=aliases,
        sha256=manifest["files"][paths.WEIGHTS]["sha256"],
        aezoo_version=manifest.get("aezoo_version", ""),
        files=manifest["files"],
    )
