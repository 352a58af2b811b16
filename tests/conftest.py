import pytest

from aezoo.plugins.testing import aezoo_plugin  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def zoo_home(tmp_path, monkeypatch):
    """Every test gets its own empty registry home."""
    home = tmp_path / "zoo-home"
    monkeypatch.setenv("AEZOO_HOME", str(home))
    return home
