"""The Python API that wires plugins, core and registry together."""
from __future__ import annotations

import fnmatch
from typing import Any

from aezoo.plugins.manager import catalog
from aezoo.plugins.specs import ModelSpec


def list_models(pattern: str | None = None) -> list[str]:
    """Names of the registered models, sorted; ``pattern`` filters with shell wildcards (``'*vae'``)."""
    names = sorted(catalog().models)
    return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]


def model_spec(name: str) -> ModelSpec:
    """The registration of model ``name``; raises UnknownModelError listing the valid names."""
    return catalog().model(name)


def create_model(name: str, input_shape: tuple[int, int, int] = (1, 28, 28), **hyperparameters: Any):
    """Build a fresh, untrained model. Unknown hyperparameters raise an error listing the valid ones."""
    if len(tuple(input_shape)) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)!r}")
    return model_spec(name).build(tuple(input_shape), **hyperparameters)
