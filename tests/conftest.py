"""Shared fixtures: every test gets its own empty registry home; ``zoo`` runs the command line in-process;
``digits`` is the embedded dataset's splits, loaded once per session (treat them as read-only).

One thread per test process (set before torch, numpy or scikit-learn load, and inherited by the subprocesses
tests start): the tests' models are tiny, and on a busy machine threads contending for the same cores made
the suite several times slower; it also makes the training the tests check bit-for-bit repeatable."""
import os

os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import digits_splits  # noqa: E402
from helpers import zoo as run_zoo  # noqa: E402

from aezoo.plugins.testing import aezoo_plugin  # noqa: F401, E402  (fixture)

torch.set_num_threads(1)  # in case torch was loaded before this file (a pytest plugin)


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
