"""Data sources: registered loaders produce RawData; ``make_splits`` turns it into train/val/test Splits.

``RawData`` is numpy-only; ``Split``, ``Splits`` and ``make_splits`` (torch) load on first use.
"""
from typing import Any

from aezoo.data.raw import RawData

__all__ = ["RawData", "Split", "Splits", "make_splits"]


def __getattr__(name: str) -> Any:
    if name in ("Split", "Splits", "make_splits"):
        from aezoo.data import splits

        return getattr(splits, name)
    raise AttributeError(f"module 'aezoo.data' has no attribute {name!r}")
