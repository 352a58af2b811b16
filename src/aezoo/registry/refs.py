"""Name rules for models, runs, aliases and checkpoint keys, and parsing of run references."""
from __future__ import annotations

import difflib
import re

from aezoo.errors import RegistryError

NAME_RULE = (
    "letters, digits, '-', '_' and '.' only, 1 to 64 characters, "
    "not starting with '.', no '..', no path separators"
)
LATEST = "latest"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_RUN_ID = re.compile(r"(?P<model>.+)-(?P<version>[0-9]+)")


class UnknownRunError(RegistryError, KeyError):
    """A run reference that matches no run."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def storage_name(model: str) -> str:
    """The folder (and run id prefix) of a model's runs: its name, with the ``/`` of a qualified name
    ``PLUGIN/MODEL`` as ``.`` (``old-plugin/iwae`` -> ``old-plugin.iwae``, runs ``old-plugin.iwae-1``, ...): one
    path component, never a model's plain name (those have no dots). A reference is read the same way, so
    ``old-plugin/iwae:2`` and ``old-plugin.iwae-2`` name the same run."""
    return model.replace("/", ".") if isinstance(model, str) else model


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
