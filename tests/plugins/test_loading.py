"""Third-party plugins are the built-ins' equals; a broken plugin never breaks the others."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

import aezoo
from aezoo.api.build import create_model
from aezoo.api.catalog import list_models
from aezoo.cli import main


def tiny_build(input_shape, latent_dim: int = 3, width: int = 16):
    return create_model("mlp-ae", input_shape=input_shape, latent_dim=latent_dim, hidden=(width,))


class TinyPlugin:
    @aezoo.hookimpl
    def register_models(self, register):
        register("tiny-ae", tiny_build, "A tiny third-party autoencoder", family="ae")


class BrokenPlugin:
    @aezoo.hookimpl
    def register_models(self, register):
        register("half-registered", tiny_build, "never visible")
        raise RuntimeError("boom in the hook")


class DuplicatePlugin:
    @aezoo.hookimpl
    def register_models(self, register):
        register("conv-vae", tiny_build, "an impostor")
        register("own-model", tiny_build, "still fine")

    @aezoo.hookimpl
    def register_datasets(self, register):
        register("digits", "aezoo.data.sources:load_digits", "a second digits")


def test_in_process_plugin_is_listed_and_buildable(aezoo_plugin):
    aezoo_plugin(TinyPlugin(), "tiny")
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0
    line = next(l for l in result.output.splitlines() if l.startswith("tiny-ae"))
    assert "tiny" in line and "A tiny third-party autoencoder" in line
    model = create_model("tiny-ae", input_shape=(1, 8, 8), width=8)
    assert model.latent_dim == 3
    with pytest.raises(aezoo.errors.BadHyperparameterError, match="latent_dim, width"):
        create_model("tiny-ae", input_shape=(1, 8, 8), depth=2)


def test_plugin_that_raises_is_reported_and_builtins_still_list(aezoo_plugin):
    aezoo_plugin(BrokenPlugin(), "broken")
    assert "conv-vae" in list_models() and "half-registered" not in list_models()
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0
    info = {p["name"]: p for p in json.loads(result.output)}
    assert info["builtin"]["ok"] and "conv-vae" in info["builtin"]["models"]
    assert not info["broken"]["ok"] and "boom in the hook" in info["broken"]["errors"][0]
    text = CliRunner().invoke(main, ["plugins"]).output
    assert "broken" in text and "FAILED" in text and "boom in the hook" in text


def test_duplicate_name_is_refused_and_both_sources_named(aezoo_plugin):
    """A taken model name never replaces the first model (the second stays reachable as PLUGIN/MODEL); a taken
    dataset name is refused, naming both plugins."""
    catalog = aezoo_plugin(DuplicatePlugin(), "dupes")
    assert catalog.models["conv-vae"].plugin == "builtin"  # never silently replaced
    assert catalog.model("dupes/conv-vae").summary == "an impostor" and catalog.plugins["dupes"].shadowed == ["conv-vae"]
    assert catalog.models["own-model"].plugin == "dupes"
    assert catalog.datasets["digits"].plugin == "builtin"
    errors = catalog.plugins["dupes"].errors
    assert len(errors) == 1 and "dataset 'digits'" in errors[0] and "'builtin'" in errors[0]


def test_plugin_for_another_api_version_is_refused(aezoo_plugin):
    class Future(TinyPlugin):
        AEZOO_PLUGIN_API = aezoo.PLUGIN_API_VERSION + 1

    catalog = aezoo_plugin(Future(), "future")
    assert "tiny-ae" not in catalog.models
    assert "plugin API" in catalog.plugins["future"].errors[0]


def test_bad_registrations_are_reported(aezoo_plugin):
    class BadName:
        @aezoo.hookimpl
        def register_models(self, register):
            register("Bad Name!", tiny_build, "x")

    catalog = aezoo_plugin(BadName(), "badname")
    assert "invalid model name" in catalog.plugins["badname"].errors[0]


def test_lazy_string_factory_is_imported_only_when_built(aezoo_plugin):
    class Lazy:
        @aezoo.hookimpl
        def register_models(self, register):
            register("lazy-ae", "aezoo.models.ae:build", "lazy",
                     defaults={"latent_dim": 2, "channels": (4,), "likelihood": "bernoulli"})

    aezoo_plugin(Lazy(), "lazy")
    assert create_model("lazy-ae", input_shape=(1, 8, 8)).latent_dim == 2


def test_list_json_has_the_documented_fields():
    result = CliRunner().invoke(main, ["list", "--json"])
    assert result.exit_code == 0 and {"name", "family", "summary", "plugin"} <= set(json.loads(result.output)[0])


ENTRY_POINT_PLUGIN = """
import aezoo

@aezoo.hookimpl
def register_models(register):
    register("ep-ae", "aezoo.models.ae:build", "From an installed entry point")
"""


def _fake_distribution(tmp_path, name, entry_point, module_source=None):
    """An installed-looking distribution on a sys.path folder: dist-info with an ``aezoo`` entry point."""
    dist = tmp_path / f"{name.replace('-', '_')}-1.2.3.dist-info"  # normalised, as pip writes it
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text(f"[aezoo]\n{entry_point}\n")
    if module_source is not None:
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(textwrap.dedent(module_source))


def _pythonpath(first) -> str:
    """``first``, then the caller's PYTHONPATH: a subprocess must import the aezoo under test, not an installed one."""
    return os.pathsep.join([str(first), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)])


def _zoo(args, path):
    code = "import sys; from aezoo.cli import main; main(sys.argv[1:])"
    env = {"PYTHONPATH": _pythonpath(path), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)


def test_entry_point_plugins_load_and_a_failing_one_is_isolated(tmp_path):
    _fake_distribution(tmp_path, "aezoo-good", "good = aezoo_good", ENTRY_POINT_PLUGIN)
    _fake_distribution(tmp_path, "aezoo-bad", "bad = aezoo_missing_module")
    listed = _zoo(["list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "ep-ae" in listed.stdout and "conv-vae" in listed.stdout
    plugins = json.loads(_zoo(["plugins", "--json"], tmp_path).stdout)
    by_name = {p["name"]: p for p in plugins}
    assert by_name["good"]["package"] == "aezoo-good" and by_name["good"]["version"] == "1.2.3"
    assert by_name["good"]["models"] == ["ep-ae"]
    assert not by_name["bad"]["ok"] and "aezoo_missing_module" in by_name["bad"]["errors"][0]


def test_zoo_list_help_and_plugins_do_not_import_torch():
    code = textwrap.dedent("""
        import sys
        from aezoo.cli import main
        for args in (["--help"], ["list"], ["plugins"], ["list", "--json"], ["datasets"]):
            try:
                main(args)
            except SystemExit as e:
                assert e.code == 0, (args, e.code)
        heavy = [m for m in ("torch", "torchvision", "sklearn", "matplotlib", "numpy") if m in sys.modules]
        assert not heavy, heavy
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_required_hyperparameters_and_partial_defaults(aezoo_plugin):
    seen = {}

    def build(input_shape, width, latent_dim: int = 3, channels: tuple = (4, 8)):
        seen.update(width=width, latent_dim=latent_dim, channels=channels)
        return tiny_build(input_shape, latent_dim=latent_dim, width=width)

    class Needs:
        @aezoo.hookimpl
        def register_models(self, register):
            register("needs-width", build, "has a required hyperparameter", defaults={"latent_dim": 2})

    aezoo_plugin(Needs(), "needs")
    with pytest.raises(aezoo.errors.BadHyperparameterError, match="needs hyperparameter width"):
        create_model("needs-width", input_shape=(1, 8, 8))
    model = create_model("needs-width", input_shape=(1, 8, 8), width=5, channels=[1, 2])  # JSON gives lists
    assert model.latent_dim == 2  # partial defaults merge with the signature's
    assert seen == {"width": 5, "latent_dim": 2, "channels": (1, 2)}


def test_in_process_plugin_replaces_an_installed_entry_point_of_the_same_name(tmp_path):
    _fake_distribution(tmp_path, "aezoo-good", "good = aezoo_good", ENTRY_POINT_PLUGIN)
    code = textwrap.dedent("""
        import aezoo_good
        from aezoo.plugins.testing import registered_plugin
        with registered_plugin(aezoo_good, "good") as catalog:
            assert catalog.plugins["good"].ok, catalog.plugins["good"].errors
            assert catalog.models["ep-ae"].plugin == "good"
    """)
    env = {"PYTHONPATH": _pythonpath(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def test_zoo_datasets_lists_builtin_and_plugin_datasets(aezoo_plugin):
    class Data:
        @aezoo.hookimpl
        def register_datasets(self, register):
            register("noise", "numpy.random:rand", "Random noise images")

    aezoo_plugin(Data(), "data")
    rows = json.loads(CliRunner().invoke(main, ["datasets", "--json"]).output)
    by_name = {r["name"]: r for r in rows}
    assert by_name["digits"]["plugin"] == "builtin" and by_name["npz"]["takes_path"] is True
    assert by_name["noise"] == {"name": "noise", "summary": "Random noise images", "plugin": "data", "takes_path": False}
    text = CliRunner().invoke(main, ["datasets"]).output
    assert "folder:PATH" in text and "noise" in text


def test_load_plugins_allowlist_picks_installed_plugins(tmp_path):
    _fake_distribution(tmp_path, "aezoo-good", "good = aezoo_good", ENTRY_POINT_PLUGIN)
    env = {"PYTHONPATH": _pythonpath(tmp_path), "PATH": "/usr/bin:/bin"}
    code = "import json; from aezoo.plugins.manager import catalog; print(json.dumps(sorted(catalog().plugins)))"
    run = lambda extra: json.loads(subprocess.run(  # noqa: E731
        [sys.executable, "-c", code], capture_output=True, text=True, env={**env, **extra}, check=True).stdout)
    assert "good" in run({})
    assert run({"AEZOO_LOAD_PLUGINS": "builtin"}) == ["builtin"]
    assert run({"AEZOO_LOAD_PLUGINS": "good"}) == ["builtin", "good"]
