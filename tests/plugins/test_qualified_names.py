"""A plugin's models are never silently replaced by another's of the same name: each has a qualified name
PLUGIN/MODEL that always reaches it, a plain name that shadows something warns at `zoo train` and load time, `zoo
list` shows both, and runs record the qualified name, are stored under a safe folder name and load through it."""
from __future__ import annotations

import json
import warnings

import pytest
from helpers import zoo, zoo_ok

import aezoo
from aezoo.errors import AezooWarning
from aezoo.plugins.manager import catalog
from aezoo.plugins.testing import registered_plugin

SMALL = {"latent_dim": 2, "hidden": (8,), "beta": 1.0, "likelihood": "bernoulli", "warmup": 0}


class OldPlugin:
    """An older package's `iwae` (here a small MLP VAE) and `conv-vae` (a small MLP AE)."""

    @aezoo.hookimpl
    def register_models(self, register):
        register("iwae", "aezoo.models.vae:build", "An old plugin's iwae", family="vae", defaults=SMALL)
        register("conv-vae", "aezoo.models.ae:build", "An old plugin's conv-vae",
                 defaults={"latent_dim": 2, "hidden": (8,), "likelihood": "bernoulli"})


def _plugin(name: str, model: str, factory: str, defaults: dict):
    class Plugin:
        @aezoo.hookimpl
        def register_models(self, register):
            register(model, factory, f"{name}'s {model}", defaults=defaults)

    return Plugin()


@pytest.fixture
def old_plugin(monkeypatch):
    monkeypatch.setenv("AEZOO_LOAD_PLUGINS", "builtin")
    with registered_plugin(OldPlugin(), "old-plugin") as cat:
        yield cat


def _objective(model) -> str:
    return type(model.objective).__name__


def test_plain_names_reach_the_builtin_and_qualified_names_reach_each(old_plugin):
    assert old_plugin.plugins["old-plugin"].ok, old_plugin.plugins["old-plugin"].errors
    assert old_plugin.model("iwae").plugin == old_plugin.model("builtin/iwae").plugin == "builtin"
    assert old_plugin.model("old-plugin/iwae").plugin == "old-plugin"
    assert old_plugin.model("old-plugin/conv-vae").factory == "aezoo.models.ae:build"
    assert _objective(aezoo.create_model("old-plugin/iwae", input_shape=(1, 8, 8))) == "ELBO"
    assert _objective(aezoo.create_model("iwae", input_shape=(1, 8, 8))) == "IWBound"


def test_zoo_plugins_and_zoo_list_show_both(old_plugin):
    plugins = zoo("plugins")
    assert plugins.exit_code == 0 and "old-plugin (" in plugins.output and "partly failed" not in plugins.output
    assert "reach this plugin's as old-plugin/iwae" in plugins.output
    listed = zoo_ok("list", "iwae")
    assert "also provided by old-plugin (old-plugin/iwae)" in listed
    assert [line.split()[0] for line in listed.splitlines()[1:]] == ["iwae", "old-plugin/iwae"]
    rows = {r["name"]: r for r in json.loads(zoo_ok("list", "--json"))}
    assert rows["old-plugin/conv-vae"]["shadowed_by"] == "builtin/conv-vae"
    assert rows["conv-vae"]["shadows"] == ["old-plugin"] and rows["conv-ae"]["shadows"] == []
    assert "old-plugin/iwae" in aezoo.list_models()


def test_zoo_train_warns_when_a_plain_name_shadows_a_plugins_model(old_plugin):
    result = zoo("train", "iwae", "--epochs", 1)
    assert result.exit_code == 0, result.output
    assert ("warning: model 'iwae' is also provided by plugin 'old-plugin' (old-plugin/iwae); using builtin/iwae"
            in result.output)
    record = aezoo.Registry().get("iwae")
    assert record.id == "iwae-1" and record.config["qualified_model"] == "builtin/iwae"


def test_a_shadowed_plugin_model_trains_saves_and_loads_by_its_qualified_name(old_plugin, zoo_home):
    result = zoo("train", "old-plugin/iwae", "--epochs", 1)
    assert result.exit_code == 0, result.output
    assert "also provided by" not in result.output and "saved run old-plugin.iwae-1" in result.output
    record = aezoo.Registry().get("old-plugin/iwae")
    assert (record.id, record.model, record.config["qualified_model"]) == \
        ("old-plugin.iwae-1", "old-plugin/iwae", "old-plugin/iwae")
    assert record.path == zoo_home / "runs" / "old-plugin.iwae" / "1"  # one safe path component
    assert not aezoo.Registry().list("iwae")  # never mixed with the built-in's runs
    for ref in ("old-plugin/iwae", "old-plugin/iwae:1", "old-plugin/iwae:latest", "old-plugin.iwae-1"):
        assert _objective(aezoo.load(ref)) == "ELBO", ref
    evaluated = zoo("eval", "old-plugin/iwae", "--iw-samples", 1, "--limit", 20)
    assert evaluated.exit_code == 0 and "evaluated old-plugin.iwae-1" in evaluated.output, evaluated.output
    assert "old-plugin.iwae-1" in zoo_ok("runs")


def test_a_run_loads_its_own_model_after_another_plugin_takes_the_plain_name(monkeypatch, tmp_path):
    """Trained when plugin 'first' alone had 'foo'; a plugin loaded earlier ('second', standing for a new
    built-in) then takes the plain name: the run still loads first's model, through its recorded qualified name."""
    monkeypatch.setenv("AEZOO_LOAD_PLUGINS", "builtin")
    first = _plugin("first", "foo", "aezoo.models.vae:build", SMALL)
    second = _plugin("second", "foo", "aezoo.models.ae:build",
                     {"latent_dim": 2, "hidden": (8,), "likelihood": "bernoulli"})
    with registered_plugin(first, "first"):
        aezoo.train("foo", epochs=1, progress=False)
    with registered_plugin(second, "second"), registered_plugin(first, "first"):
        assert catalog().model("foo").plugin == "second"
        with warnings.catch_warnings():
            warnings.simplefilter("error", AezooWarning)  # the run names its model: nothing to warn about
            assert _objective(aezoo.load("foo-1")) == "ELBO"
        exported = aezoo.api.share.export_run("foo-1", tmp_path / "export", samples=False)
        imported = aezoo.api.share.import_export(exported)
        assert _objective(aezoo.load(str(exported))) == _objective(aezoo.load(imported.id)) == "ELBO"


def test_a_run_that_records_only_a_plain_name_warns_when_it_is_shadowed(old_plugin):
    model = aezoo.create_model("iwae", input_shape=(1, 8, 8))
    aezoo.Registry().save("iwae", {k: v.contiguous() for k, v in model.state_dict().items()},
                          hyperparameters=dict(catalog().model("iwae").defaults), input_shape=(1, 8, 8),
                          config={"dataset": "digits"}, metrics={}, history=[])  # no plugin, no qualified name
    with pytest.warns(AezooWarning, match=r"also provided by plugin 'old-plugin' \(old-plugin/iwae\); using builtin/iwae"):
        assert _objective(aezoo.load("iwae-1")) == "IWBound"


def test_a_second_registration_by_the_same_plugin_is_still_refused(monkeypatch):
    class Twice:
        @aezoo.hookimpl
        def register_models(self, register):
            register("twin-vae", "aezoo.models.vae:build", "first", defaults=SMALL)
            register("twin-vae", "aezoo.models.ae:build", "second", defaults=SMALL)

    monkeypatch.setenv("AEZOO_LOAD_PLUGINS", "builtin")
    with registered_plugin(Twice(), "twice") as cat:
        assert cat.model("twin-vae").summary == "first"
        assert cat.plugins["twice"].errors == ["model 'twin-vae' is registered twice by this plugin; the second is "
                                               "ignored"]
