"""`zoo plugins --check` imports every factory; a shadowed name is marked in `zoo list`; runs record their plugin."""
from __future__ import annotations

import json

from click.testing import CliRunner

import aezoo
from aezoo.cli import main


class Shadowing:
    @aezoo.hookimpl
    def register_models(self, register):
        register("conv-vae", "aezoo.models.vae:build", "A second conv-vae")
        register("misspelt-vae", "aezoo.models.vae:bulid", "A factory that does not import")


def test_plugins_check_reports_a_factory_that_does_not_import(aezoo_plugin):
    aezoo_plugin(Shadowing(), "shadow")
    plain = CliRunner().invoke(main, ["plugins", "--json"])
    assert plain.exit_code == 0  # without --check nothing is imported
    assert not any("bulid" in e for p in json.loads(plain.output) for e in p["errors"])
    checked = CliRunner().invoke(main, ["plugins", "--check", "--json"])
    assert checked.exit_code == 1
    by_name = {p["name"]: p for p in json.loads(checked.output)}
    assert any("'aezoo.models.vae:bulid' could not be imported" in e for e in by_name["shadow"]["errors"])
    assert by_name["builtin"]["ok"]


def test_a_shadowed_name_is_marked_in_zoo_list(aezoo_plugin):
    aezoo_plugin(Shadowing(), "shadow")
    table = CliRunner().invoke(main, ["list", "conv-vae"]).output
    assert "also provided by shadow (shadow/conv-vae)" in table
    assert any(line.startswith("shadow/conv-vae ") for line in table.splitlines())  # listed by its qualified name
    rows = json.loads(CliRunner().invoke(main, ["list", "--json"]).output)
    shadows = {r["name"]: r["shadows"] for r in rows}
    assert shadows["conv-vae"] == ["shadow"] and shadows["conv-ae"] == []


def test_a_run_records_the_plugin_that_built_it(tmp_path):
    model = aezoo.train("mlp-ae", registry=aezoo.Registry(tmp_path), epochs=1, progress=None)
    plugin = model.run.config["plugin"]
    assert plugin["name"] == "builtin" and plugin["package"] == "aezoo" and plugin["version"] == aezoo.__version__
