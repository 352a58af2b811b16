"""aezoo: a plugin-style model zoo of autoencoders on PyTorch.

Importing ``aezoo`` is cheap (no torch); the heavier API loads on first use.
"""
from __future__ import annotations

from typing import Any

from aezoo.plugins.hookspecs import PLUGIN_API_VERSION, hookimpl

__version__ = "0.1.0"

_LAZY = {
    "list_models": "aezoo.api",
    "model_spec": "aezoo.api",
    "create_model": "aezoo.api",
    "list_datasets": "aezoo.api",
    "load_dataset": "aezoo.api",
    "load": "aezoo.api",
    "Registry": "aezoo.registry",
    "train": "aezoo.training",
}
_SUBMODULES = ("generate", "evaluate", "figures", "testing", "errors")

__all__ = ["__version__", "hookimpl", "PLUGIN_API_VERSION", *_LAZY, *_SUBMODULES]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"aezoo.{name}")
    raise AttributeError(f"module 'aezoo' has no attribute {name!r}")
