"""Helpers for testing aezoo plugins in-process, e.g. ``with registered_plugin(MyPlugin(), "mine"): ...``.

Also usable as a pytest fixture: ``from aezoo.plugins.testing import aezoo_plugin`` in your conftest.py, then
``def test_x(aezoo_plugin): aezoo_plugin(MyPlugin(), "mine")``.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from aezoo.plugins import manager


@contextlib.contextmanager
def registered_plugin(plugin: object, name: str) -> Iterator[manager.Catalog]:
    """Register ``plugin`` (an object or module with ``@aezoo.hookimpl`` methods) for the duration of the block."""
    manager.add_plugin(plugin, name)
    try:
        yield manager.catalog()
    finally:
        manager.remove_plugin(name)


def _aezoo_plugin() -> Iterator[Callable[[object, str], manager.Catalog]]:
    """A function that registers in-process plugins; all are removed when the test ends."""
    names: list[str] = []

    def register(plugin: object, name: str) -> manager.Catalog:
        manager.add_plugin(plugin, name)
        names.append(name)
        return manager.catalog()

    yield register
    for name in names:
        manager.remove_plugin(name)


def __getattr__(name: str):
    """``aezoo_plugin``, the pytest fixture, is made on first use: importing this module needs no pytest."""
    if name == "aezoo_plugin":
        import pytest

        return pytest.fixture(_aezoo_plugin, name="aezoo_plugin")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
