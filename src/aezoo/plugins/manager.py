"""Loads plugins from the ``aezoo`` entry-point group, one by one, and collects what they register.

A plugin that fails to import (any exception, ``sys.exit()`` and ``KeyboardInterrupt`` raised by its code
included), raises in a hook, targets another plugin API or registers a dataset or tracker name that is already
taken is recorded with its reason; it never stops the others from loading. What a plugin prints while it is
imported or its hooks run is captured (so ``--json`` output stays JSON) and shown by ``zoo plugins``.

Every model has a qualified name, ``PLUGIN/MODEL``, that always reaches it. A plain name reaches the first plugin
that registered it (the built-ins load first, then the others in entry-point name order); a later plugin's model
of the same name is kept, reachable by its qualified name, and the plain name is said to shadow it.
"""
from __future__ import annotations

import contextlib
import io
import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Callable

import pluggy

from aezoo.errors import PluginError, UnknownDatasetError, UnknownModelError, UnknownNameError
from aezoo.plugins import hookspecs
from aezoo.plugins.specs import FAMILIES, DatasetSpec, ModelSpec, TrackerSpec, check_name

ENTRY_POINT_GROUP = "aezoo"
BUILTIN = "builtin"
QUALIFIER = "/"  # PLUGIN/MODEL: ':' already selects a run's version or alias


@dataclass
class PluginInfo:
    """What ``zoo plugins`` shows of one plugin."""

    name: str
    package: str = ""
    version: str = ""
    models: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    output: str = ""  # what the plugin printed while loading (captured, never on our stdout)
    trackers: list[str] = field(default_factory=list)
    shadowed: list[str] = field(default_factory=list)  # its models whose plain name an earlier plugin has

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "package": self.package, "version": self.version, "ok": self.ok,
                "models": self.models, "datasets": self.datasets, "trackers": self.trackers, "errors": self.errors,
                "output": self.output, "shadowed": self.shadowed}


@dataclass
class Catalog:
    """Everything the loaded plugins registered."""

    models: dict[str, ModelSpec] = field(default_factory=dict)  # plain name -> the model it reaches
    datasets: dict[str, DatasetSpec] = field(default_factory=dict)
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    shadowed: dict[str, list[str]] = field(default_factory=dict)  # plain name -> later plugins with that name too
    trackers: dict[str, TrackerSpec] = field(default_factory=dict)
    qualified: dict[str, ModelSpec] = field(default_factory=dict)  # PLUGIN/MODEL -> every model, shadowed or not

    def model(self, name: str) -> ModelSpec:
        """The model a plain name reaches, or the one a qualified name ``PLUGIN/MODEL`` names."""
        table = self.qualified if QUALIFIER in name else self.models
        if name not in table:
            raise UnknownModelError(name, [*self.models, *self.shadowed_names()])
        return table[name]

    def shadowed_names(self) -> list[str]:
        """The qualified names of the models a plain name does not reach (another plugin's has it)."""
        return [f"{plugin}{QUALIFIER}{name}" for name, plugins in self.shadowed.items() for plugin in plugins]

    def shadowing(self, name: str) -> str | None:
        """For a plain model name that other plugins' models share: a warning naming them and the one it reaches."""
        if QUALIFIER in name or name not in self.shadowed:
            return None
        others = ", ".join(f"{p!r} ({p}{QUALIFIER}{name})" for p in self.shadowed[name])
        plural = "s" if len(self.shadowed[name]) > 1 else ""
        return (f"model {name!r} is also provided by plugin{plural} {others}; using "
                f"{self.models[name].qualified}")

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            raise UnknownDatasetError(name, list(self.datasets))
        return self.datasets[name]

    def tracker(self, name: str) -> TrackerSpec:
        if name not in self.trackers:
            raise UnknownNameError("tracker", name, list(self.trackers))
        return self.trackers[name]


_manager: pluggy.PluginManager | None = None
_catalog: Catalog | None = None
_extra: dict[str, object] = {}  # in-process plugins (tests, notebooks), see aezoo.plugins.testing


def _error_text(exc: BaseException) -> str:
    """``Type: message`` on one line: a message of several lines (pluggy's validation errors) joined by '; '."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {'; '.join(lines)}"


def _guarded(info: PluginInfo, what: str, call: Callable[[], Any]) -> tuple[bool, Any]:
    """Run plugin code with its stdout captured into ``info.output``; any failure, ``SystemExit`` and
    ``KeyboardInterrupt`` included, is recorded in ``info.errors`` as ``what`` failed. Returns (ok, result)."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            return True, call()
    except BaseException as exc:  # noqa: BLE001  a broken plugin must not break the others
        if isinstance(exc, SystemExit):
            reason = f"called sys.exit({exc.code!r})"
        elif isinstance(exc, KeyboardInterrupt):
            reason = "raised KeyboardInterrupt"
        else:
            reason = _error_text(exc)
        info.errors.append(f"{what}: {reason}")
        if os.environ.get("AEZOO_TRACE_PLUGINS"):
            traceback.print_exc()
        return False, None
    finally:
        info.output += printed.getvalue()


PORTING = "docs/plugins.md, 'Porting a plugin from API 1'"


def _check_api(plugin: object, name: str) -> None:
    """The plugin's declared ``AEZOO_PLUGIN_API`` decides (undeclared: the current API); API 1 is no longer loaded."""
    wanted = getattr(plugin, "AEZOO_PLUGIN_API", hookspecs.PLUGIN_API_VERSION)
    if wanted in hookspecs.SUPPORTED_PLUGIN_APIS:
        return
    if wanted == 1:
        raise PluginError(f"plugin {name!r} targets aezoo plugin API 1, which this aezoo no longer loads (it provides "
                          f"API {hookspecs.PLUGIN_API_VERSION}); port the plugin: see {PORTING}")
    supported = ", ".join(map(str, hookspecs.SUPPORTED_PLUGIN_APIS))
    raise PluginError(f"plugin {name!r} targets aezoo plugin API {wanted!r}, this aezoo provides {supported}; "
                      f"upgrade the plugin or aezoo so they match")


def _allowed(name: str) -> bool:
    """``AEZOO_LOAD_PLUGINS=a,b`` loads only those plugins (``builtin`` is always loaded)."""
    only = os.environ.get("AEZOO_LOAD_PLUGINS")
    return only is None or name == BUILTIN or name in {p.strip() for p in only.split(",")}


def _entry_points() -> list[metadata.EntryPoint]:
    eps = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name != BUILTIN, ep.name))
    seen: set[str] = set()
    unique = []
    for ep in eps:  # one installed package can be seen twice on sys.path (e.g. editable + site-packages)
        key = ep.name + "=" + ep.value
        if key not in seen:
            seen.add(key)
            unique.append(ep)
    return unique


def _registrar(catalog: Catalog, info: PluginInfo, staged: list, kind: str) -> Callable[..., None]:
    def register(name: str, target: Any, summary: str, **options: Any) -> None:
        check_name(kind, name)
        if not callable(target) and not (isinstance(target, str) and ":" in target):
            raise PluginError(f"{kind} {name!r}: factory must be a callable or 'package.module:function'")
        if not isinstance(summary, str) or not summary.strip():
            raise PluginError(f"{kind} {name!r}: give a one-line summary")
        if kind == "model":
            if options.get("family", "ae") not in FAMILIES:
                raise PluginError(f"model {name!r}: family must be one of {', '.join(FAMILIES)}")
            checks = options.get("checks")
            if checks is not None and not callable(checks) and not (isinstance(checks, str) and ":" in checks):
                raise PluginError(f"model {name!r}: checks must be a callable or 'package.module:function'")
            spec: Any = ModelSpec(name, target, summary.strip(), plugin=info.name, family=options.get("family", "ae"),
                                  defaults=dict(options.get("defaults") or {}), checks=checks)
        elif kind == "tracker":
            spec = TrackerSpec(name, target, summary.strip(), plugin=info.name)
        else:
            spec = DatasetSpec(name, target, summary.strip(), takes_path=bool(options.get("takes_path", False)),
                               plugin=info.name)
        staged.append(spec)

    return register


def _collect(catalog: Catalog, info: PluginInfo, hook_name: str, kind: str) -> None:
    """Run one plugin's hookimpls; keep its registrations only if they finished without raising."""
    impls = [i for i in getattr(plugin_manager().hook, hook_name).get_hookimpls() if i.plugin_name == info.name]
    staged: list = []

    def run_hooks() -> None:
        for impl in impls:
            kwargs = {"register": _registrar(catalog, info, staged, kind)}
            impl.function(*[kwargs[a] for a in impl.argnames])

    if not _guarded(info, f"{hook_name} failed", run_hooks)[0]:
        return
    table = {"model": catalog.models, "dataset": catalog.datasets, "tracker": catalog.trackers}[kind]
    mine = {"model": info.models, "dataset": info.datasets, "tracker": info.trackers}[kind]
    for spec in staged:
        if spec.name in mine:
            info.errors.append(f"{kind} {spec.name!r} is registered twice by this plugin; the second is ignored")
            continue
        if kind == "model":
            catalog.qualified[spec.qualified] = spec
        if spec.name in table:
            owner = table[spec.name].plugin
            if kind == "model":  # kept, reachable as PLUGIN/MODEL; the plain name stays with the first
                catalog.shadowed.setdefault(spec.name, []).append(info.name)
                info.shadowed.append(spec.name)
                mine.append(spec.name)
                continue
            info.errors.append(
                f"{kind} {spec.name!r} is already registered by plugin {owner!r}; this plugin's {spec.name!r} is ignored"
            )
            continue
        table[spec.name] = spec
        mine.append(spec.name)


def _add(catalog: Catalog, name: str, load: Callable[[], object], package: str, version: str) -> None:
    info = catalog.plugins.setdefault(name, PluginInfo(name, package, version))
    pm = plugin_manager()

    def load_and_register() -> None:
        plugin = load()
        _check_api(plugin, name)
        if pm.get_plugin(name) is not plugin:
            if pm.get_plugin(name) is not None:
                pm.unregister(name=name)
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            pm.register(plugin, name=name)

    if not _guarded(info, "could not load", load_and_register)[0]:
        return
    for caller in pm.get_hookcallers(pm.get_plugin(name)) or []:
        if not caller.has_spec():  # a misspelled hook would otherwise be silently ignored
            info.errors.append(f"unknown hook {caller.name!r}; aezoo's hooks are register_models, register_datasets, "
                               "register_trackers")
    _collect(catalog, info, "register_models", "model")
    _collect(catalog, info, "register_datasets", "dataset")
    _collect(catalog, info, "register_trackers", "tracker")


def plugin_manager() -> pluggy.PluginManager:
    """The one pluggy manager, with aezoo's hook specifications."""
    global _manager
    if _manager is None:
        _manager = pluggy.PluginManager(hookspecs.PROJECT)
        _manager.add_hookspecs(hookspecs)
    return _manager


def catalog() -> Catalog:
    """Load the plugins once and return what they registered."""
    global _catalog
    if _catalog is None:
        built = Catalog()
        for ep in _entry_points():
            if not _allowed(ep.name) or ep.name in _extra:  # an in-process plugin of that name replaces it
                continue
            dist = ep.dist
            _add(built, ep.name, ep.load, dist.name if dist else "", dist.version if dist else "")
        for name, plugin in _extra.items():
            _add(built, name, lambda plugin=plugin: plugin, getattr(plugin, "__name__", type(plugin).__name__), "")
        _catalog = built
    return _catalog


def add_plugin(plugin: object | ModuleType, name: str) -> None:
    """Register an in-process plugin (an object or module with hookimpls) and reload the catalog."""
    _extra[name] = plugin
    reset()


def remove_plugin(name: str) -> None:
    _extra.pop(name, None)
    pm = plugin_manager()
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)
    reset()


def reset() -> None:
    """Forget the loaded catalog; the next lookup loads plugins again."""
    global _catalog
    _catalog = None


def check_factories(info: PluginInfo, cat: Catalog) -> list[str]:
    """Import every factory and loader ``info``'s plugin registered; the errors, one line each."""
    from aezoo.plugins.specs import resolve

    errors = []
    for name in info.models:
        spec = cat.qualified[f"{info.name}{QUALIFIER}{name}"]
        try:
            resolve(spec.factory, spec.owner)
        except PluginError as exc:
            errors.append(str(exc))
    for name in info.datasets:
        spec = cat.datasets[name]
        try:
            resolve(spec.loader, f"dataset {name!r} of plugin {info.name!r}")
        except PluginError as exc:
            errors.append(str(exc))
    return errors
