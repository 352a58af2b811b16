"""Torch-free descriptions of what plugins register: models and data sources."""
from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from aezoo.core.checks import check_bounded
from aezoo.errors import BadHyperparameterError, PluginError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
FAMILIES = ("ae", "vae", "vq", "wae", "rae", "aae", "pca")


def check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise PluginError(
            f"invalid {kind} name {name!r}: use lower-case letters, digits and single hyphens, e.g. 'my-vae'"
        )


def resolve(target: str | Callable[..., Any], owner: str = "") -> Callable[..., Any]:
    """Import ``'package.module:function'`` lazily; callables pass through. ``owner`` ("model 'x' of plugin 'p'")
    names who registered it in the one-line error raised when it does not import."""
    if callable(target):
        return target
    module_name, _, attr = target.partition(":")
    who = f"{owner}: " if owner else ""
    if not attr:
        raise PluginError(f"{who}factory {target!r} must look like 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # ImportError, AttributeError, or whatever the module raised at import
        raise PluginError(f"{who}{target!r} could not be imported ({type(exc).__name__}: {exc}); "
                          f"check the name registered by the plugin, or reinstall it") from exc
    if not callable(obj):
        raise PluginError(f"{who}{target!r} is not a function")
    return obj


REQUIRED = inspect.Parameter.empty  # the default of a hyperparameter the user must give


def signature_defaults(func: Callable[..., Any], skip: tuple[str, ...]) -> dict[str, Any]:
    """Keyword parameters of ``func`` with their defaults (``REQUIRED`` marks those without one)."""
    out: dict[str, Any] = {}
    for p in inspect.signature(func).parameters.values():
        if p.name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[p.name] = p.default
    return out


def _like(value: Any, default: Any) -> Any:
    """JSON gives lists back for tuples: restore the default's tuple type."""
    return tuple(value) if isinstance(default, tuple) and isinstance(value, list) else value


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: a name, a factory ``build(input_shape, **hyperparameters)`` and metadata. ``checks``
    (a torch-free callable or ``'module:function'``) takes the merged hyperparameters and raises ValueError for
    values the model cannot take, before the factory is imported."""

    name: str
    factory: str | Callable[..., Any]
    summary: str
    family: str = "ae"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    plugin: str = ""
    checks: str | Callable[[dict[str, Any]], Any] | None = None

    def hyperparameters(self) -> dict[str, Any]:
        """The accepted hyperparameters and their defaults: the factory's signature updated by ``defaults``
        (a ``'module:function'`` factory with ``defaults`` is not imported). ``REQUIRED`` marks no default."""
        if self.defaults and isinstance(self.factory, str):
            return dict(self.defaults)
        return {**signature_defaults(resolve(self.factory, self.owner), skip=("input_shape",)), **self.defaults}

    @property
    def owner(self) -> str:
        return f"model {self.name!r} of plugin {self.plugin!r}"

    @property
    def qualified(self) -> str:
        """``PLUGIN/MODEL``: the name that always reaches this model, whatever other plugins register."""
        return f"{self.plugin}/{self.name}"

    def check(self, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``hyperparameters`` over the defaults; unknown keys raise naming the valid ones, and so do NaN,
        infinite or absurdly large numbers and values the registration's ``checks`` refuse. Imports no torch
        (unless a plugin's ``checks`` does)."""
        valid = self.hyperparameters()
        unknown = sorted(set(hyperparameters) - set(valid))
        if unknown:
            raise BadHyperparameterError(
                f"model {self.name!r} has no hyperparameter {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(valid)) or '(none)'}"
            )
        merged = {**valid, **{k: _like(v, valid[k]) for k, v in hyperparameters.items() if v is not None}}
        missing = sorted(k for k, v in merged.items() if v is REQUIRED)
        if missing:
            raise BadHyperparameterError(f"model {self.name!r} needs hyperparameter {', '.join(missing)} "
                                         f"(e.g. --set {missing[0]}=...)")
        try:
            check_bounded(merged)
            if self.checks is not None:
                resolve(self.checks, self.owner)(merged)
        except ValueError as exc:
            raise BadHyperparameterError(f"model {self.name!r}: {exc}") from None
        return merged

    def build(self, input_shape: tuple[int, int, int], **hyperparameters: Any) -> Any:
        merged = self.check(hyperparameters)
        factory = resolve(self.factory, self.owner)
        try:
            return factory(input_shape=tuple(int(d) for d in input_shape), **merged)
        except TypeError as exc:  # a factory whose signature does not take what aezoo passes, or a bad value type
            raise PluginError(f"{self.owner}: building it raised TypeError: {exc}") from exc


@dataclass(frozen=True)
class DatasetSpec:
    """A registered data source: ``loader(path, data_dir, download) -> aezoo.data.RawData``."""

    name: str
    loader: str | Callable[..., Any]
    summary: str
    takes_path: bool = False
    plugin: str = ""

    def load(self, **kwargs: Any) -> Any:
        return resolve(self.loader, f"dataset {self.name!r} of plugin {self.plugin!r}")(**kwargs)


@dataclass(frozen=True)
class TrackerSpec:
    """A registered tracker: ``factory(arg)`` returns an ``aezoo.core.events.TrainingEvents``; ``zoo train --log
    NAME[:ARG]`` builds it (ARG is the text after the colon, or None)."""

    name: str
    factory: str | Callable[..., Any]
    summary: str
    plugin: str = ""

    def build(self, arg: str | None = None) -> Any:
        return resolve(self.factory, f"tracker {self.name!r} of plugin {self.plugin!r}")(arg)
