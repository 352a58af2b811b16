"""Name rules for models, runs, aliases and checkpoint keys; parsing references and resolving them against a
snapshot of the registry (scan.py)."""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from aezoo.errors import RegistryError
from aezoo.registry.paths import storage_name
from aezoo.registry.scan import LATEST, Snapshot

NAME_RULE = (
    "letters, digits, '-', '_' and '.' only, 1 to 64 characters, "
    "not starting with '.', no '..', no path separators"
)
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_RUN_ID = re.compile(r"(?P<model>.+)-(?P<version>[0-9]+)")
_DIGITS = re.compile(r"[0-9]+")


class UnknownRunError(RegistryError, KeyError):
    """A run reference that matches no run."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def validate_model_name(model: object) -> str:
    """A model name as the registry stores it: a plain name or ``PLUGIN/MODEL`` (both parts non-empty), whose
    folder ``storage_name(model)`` is a safe single path component; else RegistryError with the rule."""
    plugin, sep, name = model.rpartition("/") if isinstance(model, str) else ("", "", model)
    if sep and (not plugin or not name or "/" in plugin):
        raise RegistryError(f"invalid model name {model!r}: use a plain name or PLUGIN/MODEL")
    validate_name(storage_name(model), "model name")
    return model  # type: ignore[return-value]


def validate_name(value: object, kind: str = "run name") -> str:
    """Return ``value`` if it is a safe single path component; raise RegistryError with the rule if not."""
    if not isinstance(value, str) or not _NAME.fullmatch(value) or value.startswith(".") or ".." in value:
        raise RegistryError(f"invalid {kind} {value!r}: use {NAME_RULE}")
    return value


def validate_run_name(name: object, models: Iterable[str] = ()) -> str:
    """A run name must be a valid name that reads neither as a run id (``MODEL-VERSION``) nor as a model's
    name (one of ``models``): a reference is resolved as a model, then a run id, then a run name, so such a
    name would name another run, or nothing."""
    validate_name(name, "run name")
    assert isinstance(name, str)
    if _RUN_ID.fullmatch(name):
        stem = name.rsplit("-", 1)[0]
        raise RegistryError(f"run name {name!r} reads as a run id (MODEL-VERSION, like conv-vae-2): pick a name "
                            f"that does not end in '-' and a number (e.g. {stem + '_' + name.rsplit('-', 1)[1]!r})")
    if name in set(models):
        raise RegistryError(f"run name {name!r} is a model's name, and {name!r} names that model's latest run: "
                            "pick another name")
    return name


def validate_alias(alias: object) -> str:
    """Like validate_name, and also refuse ``latest`` (maintained by aezoo) and all-digit names (versions)."""
    validate_name(alias, "alias")
    assert isinstance(alias, str)
    if alias == LATEST:
        raise RegistryError(f"alias {LATEST!r} is maintained automatically; pick another alias name")
    if alias.isdigit():
        raise RegistryError(f"invalid alias {alias!r}: an all-digit alias would read as a version number")
    return alias


def split_ref(ref: str) -> tuple[str, str | None]:
    """Split ``'model:selector'`` into its two parts; a ref without ``':'`` gives ``(ref, None)``."""
    if not isinstance(ref, str) or not ref:
        raise RegistryError(f"invalid run reference {ref!r}: expected e.g. 'conv-vae', 'conv-vae:3' or 'conv-vae-3'")
    model, sep, selector = ref.partition(":")
    if not sep:
        return ref, None
    if not selector:
        raise RegistryError(f"invalid run reference {ref!r}: nothing after ':' (try {model + ':latest'!r})")
    return model, selector


def split_run_id(ref: str) -> tuple[str, int] | None:
    """``'conv-vae-3'`` -> ``('conv-vae', 3)``; None when ``ref`` does not end in ``-<digits>``."""
    match = _RUN_ID.fullmatch(ref)
    return (match["model"], int(match["version"])) if match else None


def unknown_ref(ref: str, choices: list[str], where: str) -> UnknownRunError:
    """An error for ``ref`` that suggests the closest valid reference and lists the valid ones."""
    if not choices:
        return UnknownRunError(f"unknown run {ref!r}: no runs saved in {where} yet")
    close = difflib.get_close_matches(ref, choices, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(choices[:30]) + (f", ... ({len(choices)} in all)" if len(choices) > 30 else "")
    return UnknownRunError(f"unknown run {ref!r}{hint} (valid: {shown}); see `zoo runs`")


def damaged_error(run_id: str, reason: str) -> RegistryError:
    return RegistryError(f"run {run_id} is damaged: {reason}. Remove it with `zoo runs rm {run_id}` "
                         "(or check all runs with `zoo runs verify`)")


def resolve(snap: Snapshot, ref: str, where: str, allow_damaged: bool = False) -> tuple[str, int, dict[str, Any]]:
    """(model, version, manifest) of the complete run ``ref`` names in ``snap``: 'model' (its latest run),
    'model:3', 'model:alias', 'model-3' or a unique run name. A damaged run named by MODEL:VERSION or its run id
    raises an error saying so, or (``allow_damaged``) gives an empty manifest. ``where`` is the home, for
    messages."""
    model, selector = split_ref(ref)
    named = (model, int(selector)) if selector and _DIGITS.fullmatch(selector) else split_run_id(ref)
    if named and named[1] in snap.damaged.get(named[0], {}):
        if allow_damaged:
            return named[0], named[1], {}
        raise damaged_error(f"{named[0]}-{named[1]}", snap.damaged[named[0]][named[1]])
    runs = snap.runs
    if selector is not None:
        if model not in runs:
            raise unknown_ref(ref, choices(snap), where)
        if _DIGITS.fullmatch(selector):
            version = int(selector)
            if version not in runs[model]:
                listed = ", ".join(map(str, sorted(runs[model])))
                raise RegistryError(f"{model} has no version {version} (versions: {listed})")
            return model, version, runs[model][version]
        aliases = snap.aliases(model)
        if selector not in aliases:
            raise RegistryError(f"{model} has no alias {selector!r} (aliases: {', '.join(sorted(aliases))}); "
                                f"tag a run with `Registry.tag(ref, {selector!r})`")
        return model, aliases[selector], runs[model][aliases[selector]]
    if ref in runs:
        version = max(runs[ref])
        return ref, version, runs[ref][version]
    run_id = split_run_id(ref)
    if run_id and run_id[1] in runs.get(run_id[0], {}):
        return run_id[0], run_id[1], runs[run_id[0]][run_id[1]]
    named_runs = snap.named(ref)
    if len(named_runs) > 1:
        ids = ", ".join(f"{m}-{v}" for m, v in named_runs)
        raise RegistryError(f"run name {ref!r} is ambiguous: it names {ids}; use one of those run ids")
    if named_runs:
        m, v = named_runs[0]
        return m, v, runs[m][v]
    raise unknown_ref(ref, choices(snap), where)


def choices(snap: Snapshot) -> list[str]:
    """Every valid reference, for error messages: models, user aliases, run ids, run names."""
    found: list[str] = []
    for model in sorted(snap.runs):
        found.append(model)
        found += [f"{model}:{a}" for a in snap.aliases(model) if a != LATEST]
        found += [f"{model}-{v}" for v in sorted(snap.runs[model])]
    names = sorted({m["name"] for vs in snap.runs.values() for m in vs.values() if m.get("name")})
    return found + [n for n in names if n not in found]
