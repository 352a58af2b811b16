"""Where the registry lives on disk, and the names of its parts."""
from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "AEZOO_HOME"

RUNS = "runs"  # runs/<model>/<version>/ : one complete run
ALIASES = "aliases"  # aliases/<model>/<alias> : a text file holding a version number
CHECKPOINTS = "checkpoints"  # checkpoints/<key>/ : the trainer's scratch space
CHECKPOINT = "checkpoint.safetensors"  # checkpoints/<key>/checkpoint.safetensors : the state to resume from
CHECKPOINT_META = "aezoo_checkpoint"  # its header metadata key: JSON {spec, state}
OWNER = ".owner"  # checkpoints/<key>/.owner : flock held by the process using the folder; who it is
STAGING = ".staging"  # .staging/<runid>.<pid>-<start>.<tmp>/ : runs being written; never listed
TRASH = ".trash"  # .trash/<tmp>/ : runs being deleted; never listed
LOCK = ".lock"  # flock target for short read-modify-write sections

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
METRICS = "metrics.json"
HISTORY = "history.json"
MANIFEST = "manifest.json"  # written last; a run without it is incomplete
DELETING = ".deleting"  # the manifest renamed by a delete in progress: the run is gone, its folder stays


def storage_name(model: str) -> str:
    """The folder (and run id prefix) of a model's runs: its name, with the ``/`` of a qualified name
    ``PLUGIN/MODEL`` as ``.`` (``old-plugin/iwae`` -> ``old-plugin.iwae``, runs ``old-plugin.iwae-1``, ...): one
    path component, never a model's plain name (those have no dots). A reference is read the same way, so
    ``old-plugin/iwae:2`` and ``old-plugin.iwae-2`` name the same run."""
    return model.replace("/", ".") if isinstance(model, str) else model


def default_home() -> Path:
    """``$AEZOO_HOME``, else ``$XDG_DATA_HOME/aezoo``, else ``~/.local/share/aezoo``."""
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "aezoo"
