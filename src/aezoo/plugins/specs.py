"""Torch-free descriptions of what plugins register: models and data sources."""
from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from aezoo.errors import BadHyperparameterError, PluginError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
FAMILIES = ("ae", "vae")


def check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise PluginError(
            f"invalid {kind} name {name!r}: use lower-case letters, digits and single hyphens, e.g. 'my-vae'"
        )


def resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
    """Import ``'package.module:function'`` lazily; callables pass through."""
    if callable(target):
        return target
    module_name, _, attr = target.partition(":")
    if not attr:
        raise PluginError(f"factory {target!r} must look like 'package.module:function'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def signature_defaults(func: Callable[..., Any], skip: tuple[str, ...]) -> dict[str, Any]:
    """Keyword parameters of ``func`` with their defaults (``None`` marks required ones)."""
    out: dict[str, Any] = {}
    for p in inspect.signature(func).parameters.values():
        if p.name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[p.name] = None if p.default is p.empty else p.default
    return out


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: a name, a factory ``build(input_shape, **hyperparameters)`` and metadata."""

    name: str
    factory: str | Callable[..., Any]
    summary: str
    family: str = "ae"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    plugin: str = ""

    def hyperparameters(self) -> dict[str, Any]:
        """The accepted hyperparameters and their defaults (imports the factory if it must)."""
        if self.defaults:
            return dict(self.defaults)
        return signature_defaults(resolve(self.factory), skip=("input_shape",))

    def check(self, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``hyperparameters`` over the defaults; unknown keys raise naming the valid ones."""
        valid = self.hyperparameters()
        unknown = sorted(set(hyperparameters) - set(valid))
        if unknown:
            raise BadHyperparameterError(
                f"model {self.name!r} has no hyperparameter {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(valid)) or '(none)'}"
            )
        return {**valid, **{k: v for k, v in hyperparameters.items() if v is not None}}

    def build(self, input_shape: tuple[int, int, int], **hyperparameters: Any) -> Any:
        merged = self.check(hyperparameters)
        return resolve(self.factory)(input_shape=tuple(int(d) for d in input_shape), **merged)


@dataclass(frozen=True)
class DatasetSpec:
    """A registered data source: ``loader(path, data_dir, download) -> aezoo.data.RawData``."""

    name: str
    loader: str | Callable[..., Any]
    summary: str
    takes_path: bool = False
    plugin: str = ""

    def load(self, **kwargs: Any) -> Any:
        return resolve(self.loader)(**kwargs)
