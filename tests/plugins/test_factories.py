"""A factory that does not import, or that raises TypeError, is one line naming the plugin and the model."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import aezoo
from aezoo.cli import main
from aezoo.errors import PluginError


def takes_nothing():  # aezoo passes input_shape=...: a TypeError
    return None


class Misspelled:
    @aezoo.hookimpl
    def register_models(self, register):
        register("typo-model", "aezoo.models.vae:bulid", "A misspelled factory")
        register("gone-model", "no_such_package.models:build", "A factory whose module is missing")
        register("typeerror-model", takes_nothing, "A factory with the wrong signature")


@pytest.mark.parametrize("name, expected", [("typo-model", "AttributeError"),
                                            ("gone-model", "ModuleNotFoundError"),
                                            ("typeerror-model", "TypeError")])
def test_bad_factory_is_a_plugin_error_naming_plugin_and_model(aezoo_plugin, name, expected):
    aezoo_plugin(Misspelled(), "typos")
    with pytest.raises(PluginError) as info:
        aezoo.create_model(name, input_shape=(1, 8, 8))
    assert f"model '{name}' of plugin 'typos'" in str(info.value) and expected in str(info.value)


def test_bad_factory_from_the_cli_is_one_line(aezoo_plugin, tmp_path, monkeypatch):
    monkeypatch.setenv("AEZOO_HOME", str(tmp_path))
    aezoo_plugin(Misspelled(), "typos")
    result = CliRunner().invoke(main, ["train", "typo-model", "--epochs", "1"])
    assert result.exit_code == 1
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1 and "plugin 'typos'" in error_lines[0] and "Traceback" not in result.output
