"""The checks users rely on without seeing them: hashes verified on every load, exports and checkpoints refused
when they are wrong, user errors printed once under torchrun, plugins isolated whatever their failure, caches
keyed on everything they depend on, and data sources keeping pixels where they belong."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from helpers import zoo

import aezoo
from aezoo.api.share import export_run
from aezoo.api.train import train
from aezoo.core.events import TrainingEvents
from aezoo.errors import RegistryError, UnknownNameError
from aezoo.registry import Registry, sha256_file
from aezoo.registry.export import EXPORT_FORMAT_VERSION, ExportError


def save_untrained(home, model: str = "conv-ae", latent_dim: int = 2):
    """A run of an untrained built-in model on digits' shape: enough for load, figures and export."""
    torch.manual_seed(0)
    net = aezoo.create_model(model, input_shape=(1, 8, 8), latent_dim=latent_dim)
    return Registry(home).save(model, net.state_dict(), hyperparameters={"latent_dim": latent_dim},
                               input_shape=(1, 8, 8), config={"dataset": "digits"}, metrics={}, history=[])


def flip_last_byte(path):
    """Change one weight's bits: the file still parses and every shape still fits; only the hash can tell."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


# ---- every way of loading a run checks its sha256 ----------------------------------------------------------


def test_aezoo_load_refuses_weights_that_do_not_match_their_hash(zoo_home):
    record = save_untrained(zoo_home)
    flip_last_byte(record.weights_path)
    with pytest.raises(RegistryError, match="sha256 mismatch") as err:
        aezoo.load("conv-ae")
    assert "model.safetensors" in str(err.value)


@pytest.mark.parametrize("command", [["reconstruct", "-o", "r.png"], ["eval", "--no-save", "--iw-samples", "2"]])
def test_zoo_commands_refuse_weights_that_do_not_match_their_hash(zoo_home, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    record = save_untrained(zoo_home)
    flip_last_byte(record.weights_path)
    result = zoo(command[0], "conv-ae", *command[1:])
    assert result.exit_code == 1, result.output
    assert "sha256 mismatch" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.png").exists()


# ---- exports: a folder that is not exactly what was exported is refused -------------------------------------


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    home = tmp_path_factory.mktemp("guards-home")
    save_untrained(home)
    return export_run("conv-ae", tmp_path_factory.mktemp("guards-exports") / "ae", home=home, samples=False)


def copy_export(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def refused(folder, message: str, tmp_path) -> None:
    """``aezoo.load`` and ``zoo import`` both refuse ``folder`` with ``message``, one line, nothing imported."""
    with pytest.raises(ExportError, match=message):
        aezoo.load(str(folder))
    home = tmp_path / "import-home"
    result = zoo("import", folder, "--home", home)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert message.replace("\\", "") in result.output
    assert Registry(home).list() == []


@pytest.mark.parametrize("name", ["history.json", "README.md"])
def test_export_with_an_edited_side_file_is_refused(export_dir, tmp_path, name):
    bad = copy_export(export_dir, tmp_path / "bad")
    data = bytearray((bad / name).read_bytes())
    data[-2] = ord("x") if data[-2] != ord("x") else ord("y")  # same size: only the hash can tell
    (bad / name).write_bytes(bytes(data))
    refused(bad, f"{name}: sha256 mismatch", tmp_path)


def edit_manifest(folder, change) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_export_of_a_newer_format_is_refused_asking_for_an_upgrade(export_dir, tmp_path):
    bad = copy_export(export_dir, tmp_path / "newer")
    edit_manifest(bad, lambda m: m.update(format_version=EXPORT_FORMAT_VERSION + 1))
    refused(bad, "newer than this aezoo reads", tmp_path)


def test_export_whose_manifest_omits_the_weights_is_refused(export_dir, tmp_path):
    bad = copy_export(export_dir, tmp_path / "no-weights")
    edit_manifest(bad, lambda m: m["files"].pop("model.safetensors"))
    refused(bad, "does not list model.safetensors", tmp_path)


def test_export_manifest_naming_a_file_outside_the_folder_is_refused(export_dir, tmp_path):
    bad = copy_export(export_dir, tmp_path / "escape")
    outside = tmp_path / "x"
    outside.write_text("not part of the export")  # exists, with a matching hash: only the name gives it away
    edit_manifest(bad, lambda m: m["files"].update({"../x": {"sha256": sha256_file(outside), "bytes": 22}}))
    refused(bad, "bad file name '../x'", tmp_path)


# ---- resume ------------------------------------------------------------------------------------------------


def test_resume_with_an_unknown_key_lists_the_checkpoints_and_creates_nothing(zoo_home):
    result = zoo("train", "--resume", "conv-vae-19990101-000000-abcd")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "unknown checkpoint 'conv-vae-19990101-000000-abcd'" in result.output
    assert Registry().list_checkpoints() == [] and Registry().list() == []


def test_resume_from_python_with_an_unknown_key_is_refused_the_same_way(zoo_home):
    with pytest.raises(UnknownNameError, match="unknown checkpoint 'conv-vae-19990101-000000-abcd'"):
        train("", resume="conv-vae-19990101-000000-abcd", progress=False)
    assert Registry().list_checkpoints() == [] and Registry().list() == []


class InterruptAfter(TrainingEvents):
    """Sends this process a Ctrl-C after ``n`` batches."""

    def __init__(self, n: int):
        self.n = n

    def batch(self, loss, images):
        self.n -= 1
        if self.n == 0:
            os.kill(os.getpid(), signal.SIGINT)


def test_resume_from_a_corrupt_checkpoint_is_a_one_line_error(zoo_home):
    from aezoo.api.train import Interrupted, train

    with pytest.raises(Interrupted) as stop:
        train("conv-ae", epochs=2, batch_size=256, progress=InterruptAfter(2))
    (checkpoint,) = [p for d in Registry().list_checkpoints() for p in d.iterdir() if not p.name.startswith(".")]
    checkpoint.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])  # a crash mid-copy
    result = zoo("train", "--resume", stop.value.key)
    assert result.exit_code == 1, result.output
    assert "unreadable" in result.output and "Traceback" not in result.output
    assert Registry().list() == []


# ---- torchrun: one message, from rank 0 ----------------------------------------------------------------------


def test_under_torchrun_only_rank_0_prints_a_user_error():
    rank0 = zoo("train", "conv-vea", env={"RANK": "0", "WORLD_SIZE": "2"})
    rank1 = zoo("train", "conv-vea", env={"RANK": "1", "WORLD_SIZE": "2"})
    assert rank0.exit_code == rank1.exit_code == 1
    assert "did you mean 'conv-vae'" in rank0.output
    assert rank1.output == ""


# ---- `zoo runs` stays torch-free ---------------------------------------------------------------------------


def test_zoo_runs_does_not_import_torch(zoo_home):
    save_untrained(zoo_home)
    code = textwrap.dedent("""
        import sys
        from aezoo.cli import main
        for args in (["runs"], ["runs", "--json"], ["runs", "show", "conv-ae"], ["runs", "--model", "conv-ae"]):
            try:
                main(args)
            except SystemExit as e:
                assert e.code == 0, (args, e.code)
        heavy = [m for m in ("torch", "numpy", "safetensors") if m in sys.modules]
        assert not heavy, heavy
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "AEZOO_HOME": str(zoo_home)})
    assert result.returncode == 0, result.stderr
    assert "conv-ae-1" in result.stdout


# ---- plugins: any import failure is isolated ---------------------------------------------------------------


@pytest.mark.parametrize("source, error", [
    ("raise RuntimeError('broken at import')", "RuntimeError: broken at import"),
    ("import aezoo\nregister_models = aezoo.hookimpl(lambda register: None\n", "SyntaxError"),
    ("from aezoo import no_such_name", "ImportError"),
])
def test_a_plugin_failing_to_import_in_any_way_is_reported_and_the_rest_load(tmp_path, monkeypatch, source, error):
    from aezoo.plugins import manager

    dist = tmp_path / "aezoo_fragile-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: aezoo-fragile\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[aezoo]\nfragile = aezoo_fragile\n")
    (tmp_path / "aezoo_fragile.py").write_text(source + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("AEZOO_LOAD_PLUGINS", raising=False)
    manager.reset()
    try:
        assert "conv-vae" in aezoo.list_models()
        info = manager.catalog().plugins["fragile"]
        assert not info.ok and error in info.errors[0]
        result = zoo("plugins")
        assert result.exit_code == 0 and "fragile" in result.output and "FAILED" in result.output
    finally:
        sys.modules.pop("aezoo_fragile", None)
        manager.reset()


# ---- the classifier cache ----------------------------------------------------------------------------------


def test_classifier_cache_trains_again_when_only_the_labels_change(tmp_path):
    from helpers import digits_splits

    from aezoo.api.classifier import train_or_load_classifier
    from aezoo.data.splits import Split

    train = digits_splits().train
    split = Split(train.images[:400], train.labels[:400])
    relabelled = Split(split.images, (split.labels + 1) % 10)  # same images, other labels
    first = train_or_load_classifier(split, tmp_path)
    second = train_or_load_classifier(relabelled, tmp_path)
    assert first.accuracy(split.images, split.labels) > 0.9
    assert second.accuracy(relabelled.images, relabelled.labels) > 0.9  # not the stale classifier
    assert len(list(tmp_path.glob("*.npz"))) == 2


# ---- CIFAR-10 keeps each pixel's colour -------------------------------------------------------------------


def test_cifar10_channels_are_the_colour_planes(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    from aezoo.data.torchvision_sources import CIFAR10_FILES, CIFAR10_FOLDER, load_cifar10

    folder = tmp_path / CIFAR10_FOLDER
    folder.mkdir()
    for f in CIFAR10_FILES:
        (folder / f).write_bytes(b"")
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 255
    gradient = np.broadcast_to(np.arange(32, dtype=np.uint8)[None, :, None] * 8, (32, 32, 3)).copy()
    gradient[..., 2] = 7  # blue plane constant, red and green vary along the width

    class FakeCIFAR10:
        classes = ["airplane", "automobile"]

        def __init__(self, root, train=True, download=False):
            self.data = np.stack([red, gradient])  # (N, H, W, C) as torchvision keeps it
            self.targets = [0, 1]

    monkeypatch.setattr(tvd, "CIFAR10", FakeCIFAR10)
    raw = load_cifar10(data_dir=tmp_path)
    assert raw.train_images.shape == (2, 3, 32, 32)
    assert (raw.train_images[0, 0] == 255).all() and (raw.train_images[0, 1:] == 0).all()  # pure red
    assert (raw.train_images[1, 0, :, 5] == 40).all() and (raw.train_images[1, 1, 7] == np.arange(32) * 8).all()
    assert (raw.train_images[1, 2] == 7).all()
