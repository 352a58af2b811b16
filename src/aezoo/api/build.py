"""Bounding what building a model may cost: values checked, the network first built on torch's meta device
(shapes only, no memory), its parameter count held to a limit, and saved weights' headers checked against it
before any tensor data is read."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping

from aezoo.errors import AezooError, BadHyperparameterError, RegistryError

MAX_PARAMETERS = 20_000_000  # 80 MB of float32 weights (320 MB with Adam state); AEZOO_MAX_PARAMETERS overrides it
ENV_MAX_PARAMETERS = "AEZOO_MAX_PARAMETERS"


def max_parameters() -> int:
    """The parameter-count limit: ``$AEZOO_MAX_PARAMETERS``, else MAX_PARAMETERS."""
    text = os.environ.get(ENV_MAX_PARAMETERS, "")
    return int(text) if text.strip().isdigit() else MAX_PARAMETERS


def check_input_shape(input_shape: Any) -> tuple[int, int, int]:
    """(C, H, W) of positive integers, else BadHyperparameterError."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if len(shape) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise BadHyperparameterError(f"input_shape must be (C, H, W) of positive integers, got {input_shape!r}")
    return shape  # type: ignore[return-value]


def plan_model(name: str, input_shape: Any, hyperparameters: Mapping[str, Any]) -> tuple[tuple[int, int, int],
                                                                                          dict[str, Any], Any]:
    """(input shape, merged hyperparameters, the model built on the meta device), after checking that the
    model can be built and has at most ``max_parameters()`` parameters; nothing real is allocated."""
    import torch

    from aezoo.api.catalog import model_spec

    shape = check_input_shape(input_shape)
    spec = model_spec(name)
    merged = spec.check(hyperparameters)  # unknown keys, non-finite or absurd numbers, the model's own checks
    defaults = spec.hyperparameters()
    given = ", ".join(f"{k}={v!r}" for k, v in merged.items() if defaults.get(k) != v) or "its defaults"
    try:
        with torch.device("meta"):
            meta = spec.build(shape, **merged)
    except AezooError:
        raise
    except Exception as exc:  # a value the factory cannot build with (overflow, a bad choice, ...)
        raise BadHyperparameterError(f"cannot build {spec.owner} for input {shape} with {given}: "
                                     f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    count = sum(p.numel() for p in meta.parameters())
    limit = max_parameters()
    if count > limit:
        raise BadHyperparameterError(
            f"model {name!r} for input {shape} with {given} would have {count:,} parameters, over the limit of "
            f"{limit:,}; use smaller values (or raise the limit with {ENV_MAX_PARAMETERS}=N)")
    return shape, merged, meta


def build_checked(name: str, input_shape: Any, hyperparameters: Mapping[str, Any], weights: Path,
                  read_state: Callable[[], dict[str, Any]], where: str) -> Any:
    """Build model ``name`` from a saved config and load its weights: the config is bounded first, then the
    weights' header (names, shapes, dtypes) is compared with the planned model, then the data is read."""
    from aezoo.registry.files import check_header

    try:
        shape, merged, meta = plan_model(name, input_shape, hyperparameters)
    except AezooError as exc:
        raise RegistryError(f"{where}: {exc}") from exc
    check_header(weights, {k: (tuple(v.shape), str(v.dtype)) for k, v in meta.state_dict().items()})
    state = read_state()
    from aezoo.api.catalog import model_spec
    from aezoo.api.contract import check_contract

    spec = model_spec(name)
    model = spec.build(shape, **merged)
    model.load_state_dict(state)
    check_contract(model, spec.owner)
    return model


def create_model(name: str, input_shape: tuple[int, int, int] = (1, 28, 28), **hyperparameters: Any):
    """Build a fresh, untrained model. Unknown hyperparameters raise an error listing the valid ones; a model
    past the size limit (``aezoo.api.build``) is refused before any memory is allocated for it; the new model's
    shapes are checked on a tiny batch (``aezoo.api.contract``)."""
    from aezoo.api.catalog import model_spec
    from aezoo.api.contract import check_contract

    shape, merged, _ = plan_model(name, input_shape, hyperparameters)
    spec = model_spec(name)
    model = spec.build(shape, **merged)
    check_contract(model, spec.owner)
    return model


def built_as(model: str, config: Mapping[str, Any]) -> str:
    """The name a saved model is rebuilt by: the qualified name ``PLUGIN/MODEL`` its config records (so a plugin
    installed later that shadows the plain name changes nothing); for runs saved before that, the plugin the config
    records and the model; else the plain ``model`` (with a warning when another plugin's model shares it)."""
    from aezoo.api.catalog import shadow_warning

    recorded, plugin = config.get("qualified_model"), config.get("plugin")
    if isinstance(recorded, str) and recorded:
        return recorded
    if "/" in model:  # saved under its qualified name
        return model
    name = plugin.get("name") if isinstance(plugin, Mapping) else None
    if isinstance(name, str) and name:
        return f"{name}/{model}"
    shadow_warning(model)
    return model


def build_run(ref: str, device: str = "cpu", home: str | None = None):
    """The model of registry run ``ref``, its config then weights checked before anything is built, in eval
    mode on ``device``, with its record as ``model.run``."""
    from aezoo.registry import Registry, paths

    registry = Registry(home)
    record = registry.verify(ref, files=(paths.CONFIG,))  # the config decides what is built: check it first
    model = build_checked(built_as(record.model, record.config), record.input_shape, record.hyperparameters,
                          record.weights_path,
                          lambda: registry.load_state(record), where=str(record.path / paths.CONFIG))
    model.run = record  # where it came from: id, config, metrics
    return model.to(device).eval()
