"""`zoo export` / `zoo import` / `aezoo.load(DIR)`: shareable folders that reload bit-exactly and refuse tampering."""
import json
import subprocess
import sys

import pytest
import torch
from helpers import zoo

import aezoo
from aezoo.api.share import export_run, import_export
from aezoo.api.train import train
from aezoo.core.trainer import TrainConfig
from aezoo.registry import Registry
from aezoo.registry.export import EXPORT_FORMAT_VERSION, ExportError, read_export

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny conv-vae run in a module-wide home (tests copy the export they tamper with)."""
    home = tmp_path_factory.mktemp("export-home")
    model = train("conv-vae", config=TrainConfig(epochs=1), registry=Registry(home))
    export_dir = export_run(model.run.id, tmp_path_factory.mktemp("exports") / "vae", home=home)
    return model, home, export_dir


def copy_export(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_export_writes_the_hub_layout_and_a_model_card(trained):
    model, _, export_dir = trained
    names = {p.name for p in export_dir.iterdir()}
    assert {"model.safetensors", "config.json", "README.md", "samples.png", "manifest.json"} <= names
    assert not [n for n in names if n.startswith(".")]
    assert (export_dir / "samples.png").read_bytes()[:8] == PNG_MAGIC
    readme = (export_dir / "README.md").read_text()
    assert readme.startswith("---\nlibrary_name: aezoo\n") and '- "conv-vae"' in readme
    assert "aezoo.load(" in readme and "zoo import" in readme and "![prior samples](samples.png)" in readme
    config = json.loads((export_dir / "config.json").read_text())
    assert config["format_version"] == EXPORT_FORMAT_VERSION and config["model"] == "conv-vae"
    assert config["dataset"] == "digits" and config["input_shape"] == [1, 8, 8]
    assert config["hyperparameters"] == model.run.hyperparameters and config["metrics"] == model.run.metrics
    assert config["weights"]["sha256"] == model.run.sha256  # the run's file, byte for byte
    manifest = json.loads((export_dir / "manifest.json").read_text())
    assert set(manifest["files"]) == names - {"manifest.json"}


def test_load_from_folder_is_bit_identical(trained, monkeypatch):
    model, _, export_dir = trained
    monkeypatch.chdir(export_dir.parent)
    for ref in (str(export_dir), "./vae", export_dir):  # absolute, relative with a separator, a Path
        loaded = aezoo.load(ref)
        assert_same_weights(model, loaded)
        assert not loaded.training and loaded.run.id == model.run.id
        assert loaded.run.path.resolve() == export_dir.resolve()
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model.reconstruct(x), loaded.reconstruct(x))
        assert torch.equal(model.encode(x), loaded.encode(x))


def test_import_round_trip_makes_a_new_bit_identical_run(trained, tmp_path):
    model, home, export_dir = trained
    record = import_export(export_dir, name="shared", home=home)
    assert record.model == "conv-vae" and record.id != model.run.id and record.name == "shared"
    assert record.metrics == model.run.metrics and len(record.history) == len(model.run.history)
    assert_same_weights(model, aezoo.load(record.id, home=str(home)))
    # into another, empty registry through the CLI
    other = tmp_path / "other-home"
    result = zoo("import", str(export_dir), "--home", str(other))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("as conv-vae-1")
    assert_same_weights(model, aezoo.load("conv-vae-1", home=str(other)))


@pytest.mark.parametrize("tamper, named", [
    ("flip-weights-byte", "model.safetensors"),
    ("edit-config-sha", "config.json"),
    ("edit-config-and-manifest", "config.json"),
    ("drop-weights", "model.safetensors"),
])
def test_tampered_export_is_refused_by_load_and_import(trained, tmp_path, tamper, named):
    _, _, export_dir = trained
    bad = copy_export(export_dir, tmp_path / "bad")
    if tamper == "flip-weights-byte":
        data = bytearray((bad / "model.safetensors").read_bytes())
        data[-3] ^= 0x01
        (bad / "model.safetensors").write_bytes(bytes(data))
    elif tamper.startswith("edit-config"):
        config = json.loads((bad / "config.json").read_text())
        config["weights"]["sha256"] = "0" * 64
        (bad / "config.json").write_text(json.dumps(config))
        if tamper == "edit-config-and-manifest":  # a careful forger re-hashes config.json too
            from aezoo.registry import sha256_file

            manifest = json.loads((bad / "manifest.json").read_text())
            manifest["files"]["config.json"] = {"sha256": sha256_file(bad / "config.json"),
                                                "bytes": (bad / "config.json").stat().st_size}
            (bad / "manifest.json").write_text(json.dumps(manifest))
    else:
        (bad / "model.safetensors").unlink()
    with pytest.raises(ExportError, match=named):
        aezoo.load(str(bad))
    home = tmp_path / "home"
    result = zoo("import", str(bad), "--home", str(home))
    assert result.exit_code == 1 and named in result.output and "Traceback" not in result.output
    assert Registry(home).list() == []


def test_export_refuses_a_non_empty_folder_and_a_file(trained, tmp_path):
    model, home, _ = trained
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty"):
        export_run(model.run.id, target, home=home)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    result = zoo("export", model.run.id, str(target), "--home", str(home))
    assert result.exit_code == 1 and "not empty" in result.output and "Traceback" not in result.output
    (tmp_path / "afile").write_text("x")
    result = zoo("export", model.run.id, str(tmp_path / "afile"), "--home", str(home))
    assert result.exit_code == 1 and "not a folder" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = zoo("export", model.run.id, str(empty), "--home", str(home), "--no-samples")
    assert result.exit_code == 0, result.output
    assert "model.safetensors" in {p.name for p in empty.iterdir()} and not (empty / "samples.png").exists()
    read_export(empty)


def test_a_failed_export_leaves_nothing_behind(trained, tmp_path, monkeypatch):
    from aezoo.registry import export

    model, home, _ = trained

    def broken(config, summary=""):
        raise OSError("disk full")

    monkeypatch.setattr(export, "model_card", broken)
    with pytest.raises(OSError, match="disk full"):
        export_run(model.run.id, tmp_path / "out", home=home)
    assert list(tmp_path.iterdir()) == []


def test_plain_autoencoder_export_shows_reconstructions(tmp_path):
    train("conv-ae", config=TrainConfig(epochs=1))
    result = zoo("export", "conv-ae", str(tmp_path / "ae"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ae" / "samples.png").read_bytes()[:8] == PNG_MAGIC
    assert "![test reconstructions](samples.png)" in (tmp_path / "ae" / "README.md").read_text()


def test_cli_user_errors_exit_1_without_traceback(tmp_path):
    for args in (("export", "no-such-model", str(tmp_path / "x")), ("import", str(tmp_path / "missing")),
                 ("import", str(tmp_path))):
        result = zoo(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_import_aezoo_stays_torch_free():
    code = "import aezoo, aezoo.registry.export, sys; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_model_card_shows_metrics_a_model_lacks_as_not_applicable_rows():
    from aezoo.registry.model_card import _metrics_shown

    shown = _metrics_shown({"test_mse": 3.5, "test_not_applicable": {"kl": "no density", "iw_nll": "no density"}})
    assert shown == {"test_mse": 3.5, "test_kl": "n/a: no density", "test_iw_nll": "n/a: no density"}


def test_a_non_empty_target_is_refused_before_the_run_is_read(trained, tmp_path, monkeypatch):
    """The check of its own, not the system's rename error at the end: nothing is built, drawn or staged."""
    from aezoo.api import build

    model, home, _ = trained
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    monkeypatch.setattr(build, "build_run", lambda *a, **k: pytest.fail("the run was built for a refused target"))
    with pytest.raises(ExportError, match="taken is not empty; export into a new or empty folder"):
        export_run(model.run.id, target, home=home)
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # no hidden staging folder beside it
