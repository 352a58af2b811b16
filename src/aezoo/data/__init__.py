"""Data sources: registered loaders produce RawData; ``make_splits`` turns it into train/val/test Splits."""
from aezoo.data.splits import RawData, Split, Splits, make_splits

__all__ = ["RawData", "Split", "Splits", "make_splits"]
