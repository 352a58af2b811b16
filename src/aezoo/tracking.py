"""Trackers: training events sent to the tools people already use (TensorBoard, MLflow), or to a plugin's.

A tracker is a ``TrainingEvents`` (aezoo.core.events) built from a ``--log NAME[:ARG]`` spec by a factory that
a plugin registers with the ``register_trackers`` hook. This module imports neither torch nor any tracker's
package until a tracker is built, so ``zoo list`` stays fast and neither tool is a dependency.
"""
from __future__ import annotations

import json
from typing import Any

from aezoo.errors import AezooError


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"tensorboard:runs/tb"`` -> ("tensorboard", "runs/tb"); ``"mlflow"`` -> ("mlflow", None)."""
    name, sep, arg = spec.partition(":")
    return name.strip(), (arg if sep and arg else None)


def make_trackers(specs: list[str] | tuple[str, ...]) -> list[Any]:
    """Build the trackers named by ``specs`` (``NAME[:ARG]``); an unknown name lists the registered ones."""
    from aezoo.plugins.manager import catalog

    trackers = []
    for spec in specs:
        name, arg = parse_spec(spec)
        trackers.append(catalog().tracker(name).build(arg))
    return trackers


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    """Nested settings as ``a.b`` keys, for tools that take flat parameters."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value if isinstance(value, (int, float, str, bool)) or value is None else json.dumps(value)
    return out


def _missing(package: str, extra: str) -> AezooError:
    return AezooError(f"the {package} tracker needs the {package!r} package, which is not installed; "
                      f"pip install {extra} (or drop --log {package})")


def tensorboard(arg: str | None = None):
    """``--log tensorboard[:DIR]``: scalars, images and text through torch.utils.tensorboard (DIR default
    ``runs/``, one subfolder per run as TensorBoard expects)."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401  (needs the tensorboard package)
    except ImportError:
        raise _missing("tensorboard", "tensorboard") from None
    from aezoo.trackers_builtin import TensorBoardTracker

    return TensorBoardTracker(arg or "runs")


def mlflow(arg: str | None = None):
    """``--log mlflow[:TRACKING_URI]``: parameters, metrics, images and the saved run's folder as MLflow
    artifacts (URI default: MLflow's own, ``$MLFLOW_TRACKING_URI`` or ``./mlruns``)."""
    try:
        import mlflow as _mlflow  # noqa: F401
    except ImportError:
        raise _missing("mlflow", "mlflow-skinny") from None
    from aezoo.trackers_builtin import MLflowTracker

    return MLflowTracker(arg)
