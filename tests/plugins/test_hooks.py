"""The plugin API is documented, tested and demonstrated: meta-tests over the hookspecs, and the example plugin
(examples/aezoo-plugin-example) trained and reloaded in-process."""
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import aezoo
from aezoo.api.catalog import load_dataset
from aezoo.core.trainer import TrainConfig
from aezoo.data import RawData
from aezoo.plugins import hookspecs
from aezoo.plugins.testing import registered_plugin

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"
EXAMPLE_SRC = ROOT / "examples" / "aezoo-plugin-example" / "src"


def hook_specs() -> dict[str, object]:
    """Every function in aezoo.plugins.hookspecs marked as a hook specification."""
    marker = f"{hookspecs.PROJECT}_spec"
    return {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, marker)}


def register_signature(spec: object) -> str:
    """The ``register(...)`` call a hook's docstring promises, e.g. ``register(name, loader, summary, ...)``."""
    found = re.search(r"``(register\(.*?\))``", spec.__doc__ or "")
    assert found, f"hookspec {spec.__name__} must quote its register(...) signature in its docstring"
    return found.group(1)


def test_there_are_hooks_to_check():
    documented = set(re.findall(r"^### `(\w+)\(register\)`", DOCS.read_text(), re.MULTILINE))
    assert hook_specs() and set(hook_specs()) == documented, "docs/plugins.md must have a section per hook"


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_plugin_hooks_are_documented(name):
    doc = DOCS.read_text()
    spec = hook_specs()[name]
    assert f"{name}{inspect.signature(spec)}" in doc, f"docs/plugins.md does not show `{name}(register)`"
    assert register_signature(spec) in doc, f"docs/plugins.md does not show {register_signature(spec)}"


HOOK_EXAMPLES = {  # per hook: one registration through it, and the catalog table where it must arrive
    "register_models": (("probe-ae", "aezoo.models.ae:build", "A probe model"), "models"),
    "register_datasets": (("probe-data", "numpy.random:rand", "A probe dataset"), "datasets"),
    "register_trackers": (("probe-tracker", "aezoo.core.events:TrainingEvents", "A probe tracker"), "trackers"),
}


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_plugin_hooks_have_tests(name, aezoo_plugin):
    """Each hook, implemented by a plugin, delivers what it registers to the catalog and to `zoo plugins`."""
    assert name in HOOK_EXAMPLES, f"no test exercises hook {name}: add an example to HOOK_EXAMPLES"
    args, table = HOOK_EXAMPLES[name]
    probe = type("Probe", (), {name: aezoo.hookimpl(lambda self, register: register(*args))})()
    catalog = aezoo_plugin(probe, "probe")
    assert catalog.plugins["probe"].ok, catalog.plugins["probe"].errors
    assert getattr(catalog, table)[args[0]].plugin == "probe"
    assert args[0] in getattr(catalog.plugins["probe"], table)


def test_documented_plugin_api_version_matches_the_code():
    versions = re.findall(r"PLUGIN_API_VERSION = (\d+)", DOCS.read_text())
    assert versions and {int(v) for v in versions} == {hookspecs.PLUGIN_API_VERSION}


class GridPlugin:
    """Registers a callable loader and a path-taking one."""

    @aezoo.hookimpl
    def register_datasets(self, register):
        register("tiny-grid", load_grid, "Twelve 4x4 checkerboards")
        register("tiny-file", load_grid, "The same, given a path", takes_path=True)


def load_grid(path, data_dir, download):
    images = np.tile(np.indices((4, 4)).sum(0) % 2 * 255, (12, 1, 1, 1)).astype(np.uint8)
    return RawData(images, np.arange(12) % 2, classes=[path or "even", "odd"])


def test_dataset_hook_registers_loaders(aezoo_plugin, tmp_path):
    catalog = aezoo_plugin(GridPlugin(), "grid")
    assert catalog.plugins["grid"].datasets == ["tiny-grid", "tiny-file"]
    splits = load_dataset("tiny-grid")
    assert splits.input_shape == (1, 4, 4) and splits.classes == ["even", "odd"]
    assert load_dataset(f"tiny-file:{tmp_path}").classes[0] == str(tmp_path)
    with pytest.raises(aezoo.errors.DatasetError, match="give a path"):
        load_dataset("tiny-file")


@pytest.fixture
def example_plugin(monkeypatch):
    """The example plugin's module, importable from the source tree whether or not it is installed."""
    monkeypatch.syspath_prepend(str(EXAMPLE_SRC))
    monkeypatch.setenv("AEZOO_LOAD_PLUGINS", "builtin")  # an installed copy's entry point must not clash
    return importlib.import_module("aezoo_plugin_example.plugin")


def test_example_plugin_declares_this_api(example_plugin):
    assert example_plugin.AEZOO_PLUGIN_API == hookspecs.PLUGIN_API_VERSION


def test_example_plugin_registration_is_torch_free():
    code = ("import sys, aezoo_plugin_example.plugin as p; names = []\n"
            "p.register_models(lambda name, *a, **k: names.append(name))\n"
            "p.register_datasets(lambda name, *a, **k: names.append(name))\n"
            "assert names == ['res-conv-vae', 'blobs'], names\n"
            "heavy = [m for m in ('torch', 'numpy') if m in sys.modules]\n"
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": os.pathsep.join([str(EXAMPLE_SRC), os.environ.get("PYTHONPATH", "")]),
                                 "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr


def test_example_plugin_trains_on_its_dataset_and_loads_back(example_plugin):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model: one thread is fastest, above all on a busy machine
    try:
        with registered_plugin(example_plugin, "example") as catalog:
            assert catalog.plugins["example"].ok, catalog.plugins["example"].errors
            assert catalog.models["res-conv-vae"].plugin == "example"
            model = aezoo.train("res-conv-vae", dataset="blobs", config=TrainConfig(epochs=1))
            loaded = aezoo.load("res-conv-vae")
    finally:
        torch.set_num_threads(threads)
    assert type(loaded.encoder).__name__ == "ResConvEncoder"
    assert loaded.run.model == "res-conv-vae" and loaded.input_shape == (1, 16, 16)
    x = torch.rand(8, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(model.reconstruct(x), loaded.reconstruct(x))

