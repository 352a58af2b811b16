"""Shared fixtures: every test gets its own empty registry home; ``zoo`` runs the command line in-process;
``digits`` is the embedded dataset's splits, loaded once per session (treat them as read-only).

The suite runs in one worker process per usable CPU (pytest-xdist, ``-n auto`` in pyproject's addopts; ``-n 0``
runs it in this process), each with one thread (set before torch, numpy or scikit-learn load, and inherited by
the subprocesses tests start): the tests' models are tiny, and on a busy machine threads contending for the same
cores made the suite several times slower; it also makes the training the tests check bit-for-bit repeatable."""
import os

os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import digits_splits, one_thread  # noqa: E402
from helpers import zoo as run_zoo  # noqa: E402

from aezoo.plugins.testing import aezoo_plugin  # noqa: F401, E402  (fixture)

torch.set_num_threads(1)  # in case torch was loaded before this file (a pytest plugin)

MAX_WORKERS = 8  # `-n auto` (pyproject's addopts): one single-threaded worker per usable CPU, at most this many


def pytest_xdist_auto_num_workers(config) -> int:
    """pytest-xdist's worker count for ``-n auto``: the CPUs this process may use (its affinity mask, not the
    machine's count), capped, since every worker loads torch; PYTEST_XDIST_AUTO_NUM_WORKERS still wins."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(usable, MAX_WORKERS))


@pytest.fixture(autouse=True)
def zoo_home(tmp_path, monkeypatch):
    """Every test gets its own empty registry home."""
    home = tmp_path / "zoo-home"
    monkeypatch.setenv("AEZOO_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def single_thread():
    """Every test starts on one thread, whatever an earlier test in this worker left set."""
    with one_thread():
        yield


@pytest.fixture
def zoo():
    """``zoo(*args, **kwargs)``: the ``zoo`` command line run in-process (see helpers.zoo)."""
    return run_zoo


@pytest.fixture(scope="session")
def digits():
    """The digits train/val/test splits (uint8 images in memory), shared by the whole session."""
    return digits_splits()
