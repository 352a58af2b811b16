"""aezoo: a plugin-style model zoo of autoencoders on PyTorch.

Importing ``aezoo`` is cheap (no torch); the heavier API loads on first use.
"""
from __future__ import annotations

from typing import Any

from aezoo.plugins.hookspecs import PLUGIN_API_VERSION, hookimpl

__version__ = "0.1.0"

_LAZY = {  # public name -> the module that defines it
    "list_models": "aezoo.api.catalog",
    "model_spec": "aezoo.api.catalog",
    "list_datasets": "aezoo.api.catalog",
    "load_dataset": "aezoo.api.catalog",
    "create_model": "aezoo.api.build",
    "load": "aezoo.api.load",
    "Registry": "aezoo.registry",
    "train": "aezoo.api.train",
}
_SUBMODULES = {  # public module name -> where it lives
    "generate": "aezoo.core.sampling",
    "evaluate": "aezoo.api.evaluate",
    "figures": "aezoo.viz.draw",
    "viz": "aezoo.viz",
    "testing": "aezoo.plugins.testing",
    "errors": "aezoo.errors",
}

__all__ = ["__version__", "hookimpl", "PLUGIN_API_VERSION", *_LAZY, *_SUBMODULES]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(_SUBMODULES[name])
    raise AttributeError(f"module 'aezoo' has no attribute {name!r}")
