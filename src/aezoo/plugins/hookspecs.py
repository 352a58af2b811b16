"""The hooks a plugin may implement; their signatures are aezoo's public plugin API."""
from __future__ import annotations

import pluggy

PROJECT = "aezoo"
PLUGIN_API_VERSION = 1
"""Bumped only when a hook signature changes incompatibly; plugins may declare AEZOO_PLUGIN_API."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_models(register):
    """Call ``register(name, factory, summary, *, family="ae", defaults=None)`` once per model."""


@hookspec
def register_datasets(register):
    """Call ``register(name, loader, summary, *, takes_path=False)`` once per data source."""


@hookspec
def register_trackers(register):
    """Call ``register(name, factory, summary)`` once per tracker; ``factory(arg)`` returns a TrainingEvents."""
