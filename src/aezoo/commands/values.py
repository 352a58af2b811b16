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
