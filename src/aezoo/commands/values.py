"""Parsing ``--set KEY=VALUE`` and TOML config values into the types a model's defaults have."""
from __future__ import annotations

import json
from typing import Any

import click


def coerce(text: str, default: Any) -> Any:
    """Convert ``text`` to the type of ``default`` (bool, int, float, tuple of those, str)."""
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(default, (tuple, list)):
        items = [t for t in text.replace("(", "").replace(")", "").split(",") if t.strip()]
        sample = default[0] if default else 0
        return tuple(coerce(t.strip(), sample) for t in items)
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_sets(pairs: tuple[str, ...], defaults: dict[str, Any], model: str) -> dict[str, Any]:
    """``('latent_dim=2', 'channels=16,32')`` -> typed dict; unknown keys list the valid ones."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE (e.g. --set latent_dim=2)", param_hint="--set")
        if key not in defaults:
            raise click.BadParameter(
                f"model {model!r} has no hyperparameter {key!r}; valid: {', '.join(sorted(defaults))}",
                param_hint="--set")
        try:
            out[key] = coerce(text.strip(), defaults[key])
        except ValueError as exc:
            raise click.BadParameter(f"{key}: {exc}", param_hint="--set") from None
    return out


def check_value(key: str, value: Any, default: Any, where: str) -> Any:
    """A TOML value for hyperparameter ``key``, checked against the type of its ``default`` as strictly as
    ``--set`` is (``5`` is no list, ``1.5`` no int); raises click.BadParameter naming ``where`` and the key."""
    def fail(expected: str) -> click.BadParameter:
        return click.BadParameter(f"{where}: {key} = {value!r}: expected {expected}", param_hint="--config")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if isinstance(default, (tuple, list)):
        if not isinstance(value, list):
            raise fail(f"a list such as {list(default)!r}")
        sample = default[0] if default else None
        return tuple(check_value(key, v, sample, where) for v in value) if default else tuple(value)
    if isinstance(default, int):
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail("an integer")
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise fail("a number")
        return float(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise fail("a string")
    return value


def check_option(param: click.Parameter, value: Any, where: str, ctx: click.Context) -> Any:
    """A TOML value for command option ``param``: the TOML type must match (an int for an int option, a
    string for a choice) and then pass the option's own checks (ranges, choices)."""
    kind = param.type
    key = param.name
    if getattr(param, "is_flag", False):
        ok = isinstance(value, bool)
        expected = "true or false"
    elif isinstance(kind, click.types.IntParamType):
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    elif isinstance(kind, click.types.FloatParamType):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        expected = "a number"
    else:
        ok = isinstance(value, str)
        expected = "a string"
    if not ok:
        raise click.BadParameter(f"{where}: {key} = {value!r}: expected {expected}", param_hint="--config")
    try:
        return kind.convert(value, param, ctx)
    except click.BadParameter as exc:
        raise click.BadParameter(f"{where}: {key} = {value!r}: {exc.message}", param_hint="--config") from None
