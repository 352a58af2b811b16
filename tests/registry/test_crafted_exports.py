"""Crafted exports (issue 18, items 7, 8, 9 and 14): every field an import copies is checked and any bad one is one
line naming it; an export never makes aezoo read a path it chose; no NaN or infinity enters the registry or its
JSON output; text from an export reaches the model card escaped."""
import json
import math

import pytest
from helpers import zoo

import aezoo
from aezoo.api.build import create_model
from aezoo.api.evaluate import run_splits
from aezoo.api.share import export_run, import_export
from aezoo.errors import RegistryError
from aezoo.registry import Registry, sha256_file
from aezoo.registry.export import ExportError


def strict_json(text):
    """JSON as a browser's JSON.parse reads it: NaN and Infinity are errors."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def export_dir(zoo_home, tmp_path):
    model = create_model("mlp-ae", input_shape=(1, 8, 8), hidden=(16,), latent_dim=2)
    run = Registry().save("mlp-ae", model.state_dict(), hyperparameters={"hidden": [16], "latent_dim": 2},
                          input_shape=(1, 8, 8), config={"dataset": "digits", "classes": ["a", "b"]},
                          metrics={"val_loss": 1.5}, history=[{"epoch": 1, "val_loss": 1.5}])
    return export_run(run.id, tmp_path / "export", samples=False)


def rewrite(folder, name, text):
    """Replace ``name`` in an export with ``text`` and fix the manifest: a forger who knows the format."""
    (folder / name).write_text(text)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def edit_config(folder, **fields):
    config = json.loads((folder / "config.json").read_text())
    config.update(fields)
    rewrite(folder, "config.json", json.dumps(config))


def assert_one_line(result, *words):
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], (word, lines[0])


# ---- 7: every field an import copies is checked, one line naming it -----------------------------------------

@pytest.mark.parametrize("fields, named", [
    ({"weights": [1, 2]}, "'weights'"),
    ({"weights": "abc"}, "'weights'"),
    ({"source_run": [1]}, "'source_run'"),
    ({"source_run": {"id": "mlp-ae-1", "version": "three"}}, "'source_run.version'"),
    ({"train": "oops"}, "'train'"),
    ({"classes": "ab"}, "'classes'"),
    ({"dataset": {"name": "digits"}}, "'dataset'"),
    ({"input_shape": [1, 8, True]}, "'input_shape'"),
    ({"qualified_model": ["builtin", "mlp-ae"]}, "'qualified_model'"),
])
def test_a_config_field_of_the_wrong_type_is_one_line_naming_it(export_dir, fields, named):
    edit_config(export_dir, **fields)
    assert_one_line(zoo("import", export_dir), "config.json", named)
    with pytest.raises(ExportError, match=named):
        aezoo.load(str(export_dir))
    assert len(Registry().list()) == 1  # the exported run alone: nothing imported


def test_a_config_nested_200000_deep_is_one_line(export_dir):
    config = (export_dir / "config.json").read_text().rstrip().rstrip("}")
    rewrite(export_dir, "config.json", config + ', "extra": ' + "[" * 200_000 + "]" * 200_000 + "}")
    assert_one_line(zoo("import", export_dir), "config.json", "nested more than 64 levels deep")


@pytest.mark.parametrize("history", [[1, "x"], [{"epoch": 1, "val_loss": [1, 2]}], {"epoch": 1},
                                     [{"epoch": "one"}]])
def test_history_entries_that_are_not_epoch_records_are_refused_at_import(export_dir, history):
    rewrite(export_dir, "history.json", json.dumps(history))
    assert_one_line(zoo("import", export_dir), "history.json")
    assert len(Registry().list()) == 1  # only the exported run: nothing imported to fail later in `zoo report`


def test_an_imported_run_can_be_exported_again_with_its_settings(export_dir, tmp_path):
    run = import_export(export_dir)
    again = export_run(run.id, tmp_path / "again", samples=False)
    assert json.loads((again / "config.json").read_text())["train"] == \
        json.loads((export_dir / "config.json").read_text())["train"]


# ---- 8: an export never chooses what local files are read --------------------------------------------------

@pytest.mark.parametrize("dataset", ["folder:/some/private/dir", "npz:/etc/passwd", "FOLDER:/x", "not-a-dataset"])
def test_an_imported_dataset_that_reads_local_paths_is_not_kept(export_dir, dataset, monkeypatch):
    from aezoo.data import files

    def never(*args, **kwargs):
        raise AssertionError("a file named by an export was read")

    monkeypatch.setattr(files, "load_npz", never)
    monkeypatch.setattr(files, "load_folder", never)
    edit_config(export_dir, dataset=dataset)
    result = zoo("import", export_dir)
    assert result.exit_code == 0 and "not kept" in result.output and "--dataset" in result.output, result.output
    run = Registry().get("mlp-ae:latest")
    assert run.config["dataset"] is None and run.config["dataset_not_kept"] == dataset
    for command in (("eval", run.id), ("reconstruct", run.id, "-o", export_dir.parent / "r.png"),
                    ("eval", export_dir)):
        assert_one_line(zoo(*command), "--dataset")
    with pytest.raises(ValueError, match="--dataset"):
        run_splits(aezoo.load(str(export_dir)))


def test_a_registered_dataset_name_is_kept(export_dir):
    edit_config(export_dir, dataset="digits")
    assert import_export(export_dir).config["dataset"] == "digits"


# ---- 9: NaN and infinities never enter the registry or its JSON --------------------------------------------

@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_metrics_in_an_export_are_refused(export_dir, number):
    config = (export_dir / "config.json").read_text().replace('"val_loss": 1.5', f'"val_loss": {number}')
    rewrite(export_dir, "config.json", config)
    assert_one_line(zoo("import", export_dir), "config.json", "finite")


def test_a_save_with_non_finite_metrics_is_refused():
    model = create_model("mlp-ae", input_shape=(1, 8, 8), hidden=(16,), latent_dim=2)
    for value in (math.nan, math.inf):
        with pytest.raises(RegistryError, match="metrics"):
            Registry().save("mlp-ae", model.state_dict(), hyperparameters={}, input_shape=(1, 8, 8), config={},
                            metrics={"val_loss": value}, history=[])
    assert Registry().list() == []


def test_zoo_runs_json_is_strict_json_even_with_a_nan_written_into_a_manifest(export_dir):
    run = Registry().list()[0]
    manifest = run.path / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"val_loss": 1.5', '"val_loss": NaN'))
    result = zoo("runs", "--json")
    assert result.exit_code == 0, result.output
    assert strict_json(result.output) == []  # the damaged run is left out
    listed = zoo("runs").output
    assert "DAMAGED" in listed and "NaN is not a number JSON allows" in listed, listed


# ---- 14: what an export says reaches the model card as text, not HTML -------------------------------------

def test_html_in_class_names_reaches_the_model_card_escaped(export_dir, tmp_path):
    edit_config(export_dir, classes=["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "a|b `c`"])
    run = import_export(export_dir)
    card = (export_run(run.id, tmp_path / "again", samples=False) / "README.md").read_text()
    assert "<script" not in card and "<img" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card and "&lt;img src=x onerror=alert(2)&gt;" in card
    assert "a\\|b &#96;c&#96;" in card


def test_html_in_a_local_dataset_path_reaches_the_card_as_text_front_matter_included(zoo_home, tmp_path):
    dataset = "folder:/data/<script>alert(6)</script>&x"
    model = create_model("mlp-ae", input_shape=(1, 8, 8), hidden=(16,), latent_dim=2)
    run = Registry().save("mlp-ae", model.state_dict(), hyperparameters={"hidden": [16], "latent_dim": 2},
                          input_shape=(1, 8, 8), config={"dataset": dataset}, metrics={}, history=[])
    card = (export_run(run.id, tmp_path / "card", samples=False) / "README.md").read_text()
    assert "<script" not in card and "&lt;script&gt;alert(6)&lt;/script&gt;&amp;x" in card
    front = card.split("---\n")[1]
    tags = [json.loads(line[2:]) for line in front.splitlines() if line.startswith("- ")]  # YAML's "..." strings
    assert f"dataset:{dataset}" in tags
