"""Shared fixtures: every test gets its own empty registry home; ``zoo`` runs the command line in-process;
``digits`` is the embedded dataset's splits, loaded once per session (treat them as read-only)."""
import pytest
from helpers import digits_splits
from helpers import zoo as run_zoo

from aezoo.plugins.testing import aezoo_plugin  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def zoo_home(tmp_path, monkeypatch):
    """Every test gets its own empty registry home."""
    home = tmp_path / "zoo-home"
    monkeypatch.setenv("AEZOO_HOME", str(home))
    return home


@pytest.fixture
def zoo():
    """``zoo(*args, **kwargs)``: the ``zoo`` command line run in-process (see helpers.zoo)."""
    return run_zoo


@pytest.fixture(scope="session")
def digits():
    """The digits train/val/test splits (uint8 images in memory), shared by the whole session."""
    return digits_splits()
