"""Shareable model exports: one folder that works without aezoo's registry (no torch at import time).

Layout of an export folder (Hugging Face style; see docs/formats.md)::

    model.safetensors   the run's weights, byte for byte, header metadata included
    config.json         format, format_version, model, hyperparameters, input_shape, dataset, train,
                        metrics, aezoo_version, weights: {file, sha256, bytes}, source_run, samples
    README.md           model card with a YAML front-matter block (library_name: aezoo, tags)
    samples.png         prior samples (models sampling from their prior) or test reconstructions; may be absent
    history.json        per-epoch training history
    manifest.json       written last: format, format_version, files: {filename: {sha256, bytes}}
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from aezoo.errors import RegistryError
from aezoo.registry import paths
from aezoo.registry.files import (
    MAX_JSON_BYTES,
    dumps_json,
    file_entry,
    fsync_dir,
    loads_json,
    make_dirs,
    read_metadata,
    read_safetensors,
    sha256_file,
    umask,
    write_new,
)
from aezoo.registry.lock import process_tag, tag_alive
from aezoo.registry.model_card import model_card
from aezoo.registry.record import RunRecord

if TYPE_CHECKING:
    import torch

EXPORT_FORMAT = "aezoo-export"
EXPORT_FORMAT_VERSION = 1
README = "README.md"
STAGE_SUFFIX = ".export-tmp"  # an export being written, beside its target
SAMPLES = "samples.png"
REQUIRED = (paths.WEIGHTS, paths.CONFIG)
RUN_CONFIG_KEYS = ("dataset", "input_shape", "train", "classes", "qualified_model")  # from the run into config.json


class ExportError(RegistryError):
    """An export folder that cannot be written, or one that is missing, malformed or tampered with."""


@dataclass(frozen=True)
class ExportInfo:
    """A verified export folder: its path, config.json and manifest.json."""

    path: Path
    config: dict[str, Any]
    manifest: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.config["model"])

    @property
    def weights_sha256(self) -> str:
        return str(self.manifest["files"][paths.WEIGHTS]["sha256"])

    def record(self) -> RunRecord:
        """A RunRecord describing the export (path = the export folder, no aliases), for ``model.run``."""
        source = self.config.get("source_run") or {}
        return RunRecord(
            id=source.get("id") or self.model, model=self.model, version=source.get("version") or 0,
            name=source.get("name"), path=self.path, created=source.get("created") or "",
            config=self.config, metrics=dict(self.config.get("metrics", {})), aliases=[],
            sha256=self.weights_sha256, aezoo_version=str(self.config.get("aezoo_version", "")),
            files=self.manifest["files"],
        )


def is_export_path(ref: object) -> bool:
    """True when ``ref`` names a folder rather than a registry run: a path object, a string with a path
    separator, or an existing folder holding an export manifest."""
    if isinstance(ref, os.PathLike):
        return True
    if not isinstance(ref, str):
        return False
    separators = [s for s in (os.sep, os.altsep, "/") if s]
    return any(s in ref for s in separators) or (Path(ref) / paths.MANIFEST).is_file()


# ---------------------------------------------------------------------- writing


def write_export(record: RunRecord, directory: str | os.PathLike, facts: dict[str, Any], summary: str = "",
                 samples: Callable[[Path], dict[str, Any]] | None = None) -> Path:
    """Write the verified run ``record`` as a shareable folder at ``directory`` (new or empty).

    ``facts`` are what only the built model knows (posterior, prior, sampler, latent_dim, num_parameters); ``samples(path)``
    draws samples.png and returns its description. Everything is written into a temp folder beside
    ``directory`` and renamed into place, so a failure leaves nothing half-written. Returns the folder's path.
    """
    target = Path(directory).expanduser().absolute()
    _check_target(target)
    make_dirs(target.parent)
    remove_stale_stages(target.parent)
    # the name says which process writes it (PID and start time), so a later export knows a dead one's leftover
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.{process_tag()}.", suffix=STAGE_SUFFIX, dir=target.parent))
    try:
        stage.chmod(0o777 & ~umask())  # mkdtemp makes it private; a shared folder gets normal permissions
        _write_export(stage, record, facts, summary, samples)
        _move_into_place(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return target


def remove_stale_stages(folder: Path) -> list[Path]:
    """Remove the temp folders (``.NAME.PID-START.xxx.export-tmp``) that exports killed midway (SIGTERM,
    SIGKILL) left in ``folder``; those of live processes, and any without a process in the name, stay."""
    removed = []
    for entry in folder.iterdir():
        if not (entry.name.startswith(".") and entry.name.endswith(STAGE_SUFFIX)) or entry.is_symlink():
            continue
        parts = entry.name[: -len(STAGE_SUFFIX)].split(".")  # "", NAME (may hold dots), PID-START, random
        if entry.is_dir() and len(parts) >= 4 and "-" in parts[-2] and tag_alive(parts[-2]) is False:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def check_target(directory: str | os.PathLike) -> None:
    """Refuse an export target that is a file or a non-empty folder."""
    _check_target(Path(directory).expanduser().absolute())


def _check_target(target: Path) -> None:
    if target.is_dir():
        if any(target.iterdir()):
            raise ExportError(f"{target} is not empty; export into a new or empty folder (or remove it first)")
    elif target.exists():
        raise ExportError(f"{target} exists and is not a folder; pick a new folder name to export into")


def _move_into_place(stage: Path, target: Path) -> None:
    try:
        os.rename(stage, target)  # onto a missing or empty folder: the export appears whole
    except OSError as exc:
        raise ExportError(f"cannot move the export into {target} ({exc}); it must not exist or be empty") from exc
    fsync_dir(target.parent)


def _write_export(stage: Path, record: RunRecord, facts: dict[str, Any], summary: str,
                  samples: Callable[[Path], dict[str, Any]] | None) -> None:
    """Fill ``stage`` with the export's files, manifest.json last."""
    import aezoo

    shutil.copyfile(record.weights_path, stage / paths.WEIGHTS)  # byte-identical, header metadata included
    shutil.copyfile(record.path / paths.HISTORY, stage / paths.HISTORY)
    samples_info = samples(stage / SAMPLES) if samples else {"file": None, "skipped": "turned off (--no-samples)"}
    config = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "library_name": "aezoo",
        "model": record.model,
        "hyperparameters": record.hyperparameters,
        "input_shape": list(record.input_shape),
        **{k: record.config.get(k) for k in RUN_CONFIG_KEYS if k != "input_shape"},
        "metrics": record.metrics,
        **facts,
        "aezoo_version": aezoo.__version__,
        "trained_with_aezoo_version": record.config.get("aezoo_version", record.aezoo_version),
        "weights": {"file": paths.WEIGHTS, **file_entry(stage / paths.WEIGHTS)},
        "source_run": {"id": record.id, "version": record.version, "name": record.name,
                       "created": record.created},
        "samples": samples_info,
    }
    write_new(stage / paths.CONFIG, dumps_json(config, "export config").encode())
    write_new(stage / README, model_card(config, summary).encode())
    files = sorted(p.name for p in stage.iterdir() if p.is_file())
    manifest = {"format": EXPORT_FORMAT, "format_version": EXPORT_FORMAT_VERSION,
                "files": {f: file_entry(stage / f) for f in files}}
    for f in files:
        _fsync_file(stage / f)
    write_new(stage / paths.MANIFEST, dumps_json(manifest, "export manifest").encode())
    fsync_dir(stage)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


# ---------------------------------------------------------------------- reading


def read_export(directory: str | os.PathLike) -> ExportInfo:
    """Check an export folder against its manifest (every listed file's sha256) and return its config.

    Anything missing, malformed or modified raises ExportError naming the file and what is wrong.
    """
    root = Path(directory).expanduser().absolute()
    if not root.is_dir():
        raise ExportError(f"{root}: no such folder; give the folder written by `zoo export`")
    links = sorted(p.name for p in root.iterdir() if p.is_symlink())
    if links:
        raise ExportError(f"{root}: holds symbolic links ({', '.join(links)}); an export holds plain files only: "
                          "copy the real files in, or get a fresh copy")
    manifest = _read_json(root / paths.MANIFEST)
    _check_format(root / paths.MANIFEST, manifest)
    files = manifest.get("files")
    if not isinstance(files, dict) or any(not isinstance(e, dict) or not isinstance(e.get("sha256"), str)
                                          or not isinstance(e.get("bytes"), int) for e in files.values()):
        raise ExportError(f"{root / paths.MANIFEST}: malformed 'files' (expected {{filename: {{sha256, bytes}}}})")
    for name in REQUIRED:
        if name not in files:
            raise ExportError(f"{root / paths.MANIFEST}: does not list {name}; the export is incomplete")
    for name, entry in files.items():
        if Path(name).name != name or name in (".", "..", paths.MANIFEST):
            raise ExportError(f"{root / paths.MANIFEST}: bad file name {name!r}; the manifest was edited")
        _check_file(root / name, entry["sha256"], entry["bytes"])
    config = _read_json(root / paths.CONFIG)
    _check_format(root / paths.CONFIG, config)
    check_config(root / paths.CONFIG, config)
    if config["weights"]["sha256"] != files[paths.WEIGHTS]["sha256"]:
        raise ExportError(
            f"{root / paths.CONFIG}: weights sha256 {config['weights']['sha256']!r} does not match "
            f"{paths.WEIGHTS} ({files[paths.WEIGHTS]['sha256']}); the export was modified: get a fresh copy"
        )
    header_model = read_metadata(root / paths.WEIGHTS).get("model")
    if header_model not in (None, config["model"]):
        raise ExportError(f"{root / paths.WEIGHTS}: header says model {header_model!r}, "
                          f"config.json says {config['model']!r}; the export was modified")
    return ExportInfo(path=root, config=config, manifest=manifest)


def read_export_state(info: ExportInfo) -> dict[str, "torch.Tensor"]:
    """The tensors (CPU) of a verified export, checked again against the manifest's size and sha256."""
    entry = info.manifest["files"][paths.WEIGHTS]
    return read_safetensors(info.path / paths.WEIGHTS, entry["sha256"], entry["bytes"])


def read_export_history(info: ExportInfo) -> list[dict[str, Any]]:
    """The export's per-epoch history (empty when it has none)."""
    if paths.HISTORY not in info.manifest["files"]:
        return []
    path = info.path / paths.HISTORY
    history = _read_json(path)
    if not isinstance(history, list):
        raise ExportError(f"{path}: expected a list of per-epoch records, found {type(history).__name__}")
    for i, entry in enumerate(history):
        _expect(path, f"[{i}]", entry, _is_record(entry), "an object of name -> number, text, true/false or null")
        if "epoch" in entry:
            _expect(path, f"[{i}].epoch", entry["epoch"], _is_int(entry["epoch"]) and entry["epoch"] >= 1,
                    "an epoch number (1, 2, ...)")
    return history


# ---------------------------------------------------------------------- what an export's config must hold

MAX_CLASSES = 100_001  # class names of labels 0..100,000 (aezoo.data.files.MAX_LABEL)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and all(_is_scalar(v) for v in value.values())


def _optional(kind: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or kind(value)


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _expect(path: Path, field: str, value: Any, ok: bool, expected: str) -> None:
    if not ok:
        raise ExportError(f"{path}: '{field}' must be {expected}, found {_shown(value)}; the file was edited or "
                          "is corrupt: get a fresh copy of the export")


CONFIG_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {  # field -> (check, what it must be)
    "model": (lambda v: isinstance(v, str) and bool(v), "a model name"),
    "hyperparameters": (lambda v: isinstance(v, dict), "an object of name -> value"),
    "input_shape": (lambda v: isinstance(v, list) and len(v) == 3 and all(_is_int(d) and d >= 1 for d in v),
                    "a list of 3 positive integers (C, H, W)"),
    "metrics": (lambda v: isinstance(v, dict), "an object of name -> value"),
    "weights": (lambda v: isinstance(v, dict) and isinstance(v.get("sha256"), str),
                "an object with the weights' 'sha256'"),
    "dataset": (_optional(lambda v: isinstance(v, str)), "a dataset name or null"),
    "train": (_optional(_is_record), "an object of training settings or null"),
    "classes": (_optional(lambda v: isinstance(v, list) and len(v) <= MAX_CLASSES
                          and all(isinstance(c, str) for c in v)), "a list of class names (text) or null"),
    "source_run": (_optional(lambda v: isinstance(v, dict)), "an object or null"),
    "samples": (_optional(lambda v: isinstance(v, dict)), "an object or null"),
    "aezoo_version": (_optional(lambda v: isinstance(v, str)), "a version (text) or null"),
    "trained_with_aezoo_version": (_optional(lambda v: isinstance(v, str)), "a version (text) or null"),
    "qualified_model": (_optional(lambda v: isinstance(v, str) and bool(v)), "a model name PLUGIN/MODEL or null"),
}
SOURCE_RUN_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "id": (_optional(lambda v: isinstance(v, str)), "a run id (text) or null"),
    "version": (_optional(lambda v: _is_int(v) and v >= 0), "a version number (0, 1, 2, ...) or null"),
    "name": (_optional(lambda v: isinstance(v, str)), "a run name (text) or null"),
    "created": (_optional(lambda v: isinstance(v, str)), "a date (text) or null"),
}
REQUIRED_FIELDS = ("model", "hyperparameters", "input_shape", "metrics", "weights")


def check_config(path: Path, config: dict[str, Any]) -> None:
    """Every field of an export's config.json that loading, importing or a model card reads has the type it
    must have; else ExportError naming the field, what it must be and what it is."""
    for key in REQUIRED_FIELDS:
        if key not in config:
            raise ExportError(f"{path}: '{key}' is missing; the file was edited or is corrupt: get a fresh copy "
                              "of the export")
    for key, (ok, expected) in CONFIG_FIELDS.items():
        if key in config:
            _expect(path, key, config[key], ok(config[key]), expected)
    for key, (ok, expected) in SOURCE_RUN_FIELDS.items():
        value = (config.get("source_run") or {}).get(key)
        _expect(path, f"source_run.{key}", value, ok(value), expected)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ExportError(f"{path}: file is missing; this is not a complete aezoo export (see `zoo export`)")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ExportError(f"{path}: {path.stat().st_size:,} bytes, more than an export's JSON files ever hold "
                          f"({MAX_JSON_BYTES:,}); the export is corrupt or crafted: get a fresh copy")
    try:
        return loads_json(path.read_text())
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path}: cannot parse JSON ({exc}); the export is corrupt: get a fresh copy") from exc


def _check_format(path: Path, data: Any) -> None:
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ExportError(f"{path}: not an aezoo export (format is not {EXPORT_FORMAT!r})")
    version = data.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ExportError(f"{path}: bad format_version {version!r}")
    if version > EXPORT_FORMAT_VERSION:
        raise ExportError(f"{path}: export format {version} is newer than this aezoo reads "
                          f"({EXPORT_FORMAT_VERSION}); upgrade aezoo")


def _check_file(path: Path, expected: str, size: int) -> None:
    if not path.is_file():
        raise ExportError(f"{path}: file is missing but listed in manifest.json; the export is incomplete")
    if path.stat().st_size != size:
        raise ExportError(f"{path}: {path.stat().st_size} bytes but manifest.json says {size}; the file was "
                          "modified or corrupted after export: get a fresh copy")
    actual = sha256_file(path)
    if actual != expected:
        raise ExportError(f"{path}: sha256 mismatch (manifest.json says {expected}, file has {actual}); "
                          "the file was modified or corrupted after export: get a fresh copy")
