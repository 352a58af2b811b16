"""The local on-disk run registry (no torch at import time).

Layout under the home (``$AEZOO_HOME``, else ``$XDG_DATA_HOME/aezoo``, else ``~/.local/share/aezoo``)::

    runs/<model>/<version>/        one complete run, renamed into place whole:
        model.safetensors          weights; header metadata (str->str): model, run_id, version,
                                   hyperparameters (JSON), input_shape (JSON), aezoo_version, format
        config.json                the caller's config merged with model, hyperparameters, input_shape
        metrics.json               final metrics (update_metrics merges into it)
        history.json               list of per-epoch dicts
        manifest.json              written last: id, model, version, name, created, aezoo_version,
                                   files: {filename: {sha256, bytes}}; no manifest = not a run
    aliases/<model>/<alias>        text file holding a version number (``latest`` is computed)
    checkpoints/<key>/             a training's checkpoint.safetensors; .owner: flock held by its process
    .staging/  .trash/  .lock      in-flight writes (named RUNID.PID-START.xxx), in-flight deletes, the
                                   flock for short read-modify-write sections (its holder writes who it is)

An empty ``runs/<model>/<version>/`` is a reservation (save in progress) or a tombstone (deleted run):
it keeps the number taken and is never listed.
"""
from __future__ import annotations

from aezoo.registry.files import (
    atomic_write_bytes,
    atomic_write_json,
    read_metadata,
    read_safetensors,
    sha256_file,
    verify_state,
)
from aezoo.registry.paths import default_home
from aezoo.registry.record import RunRecord
from aezoo.registry.refs import NAME_RULE, UnknownRunError, validate_alias, validate_name
from aezoo.registry.store import Registry

__all__ = [
    "Registry",
    "RunRecord",
    "default_home",
    "UnknownRunError",
    "NAME_RULE",
    "validate_name",
    "validate_alias",
    "atomic_write_bytes",
    "atomic_write_json",
    "sha256_file",
    "read_metadata",
    "read_safetensors",
    "verify_state",
]
