"""The hooks a plugin may implement; their signatures are aezoo's public plugin API."""
from __future__ import annotations

import pluggy

PROJECT = "aezoo"
PLUGIN_API_VERSION = 2
"""The plugin API this aezoo provides; plugins may declare the one they target as AEZOO_PLUGIN_API."""
SUPPORTED_PLUGIN_APIS = (2,)
"""API 1 (encoders flagged ``variational``, objectives called ``(target, out)``) is no longer supported: such plugins
are refused at load, pointing to the porting table in docs/plugins.md."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_models(register):
    """Call ``register(name, factory, summary, *, family="ae", defaults=None, checks=None)`` once per model."""


@hookspec
def register_datasets(register):
    """Call ``register(name, loader, summary, *, takes_path=False)`` once per data source."""


@hookspec
def register_trackers(register):
    """Call ``register(name, factory, summary)`` once per tracker; ``factory(arg)`` returns a TrainingEvents."""
