"""Untrusted files never cost memory before they are checked, and never load silently altered: exports and
runs with edited configs, weights of another dtype, links; data files with absurd labels or odd pixels."""
import json

import numpy as np
import pytest
import torch
from helpers import zoo
from safetensors.torch import save_file

import aezoo
from aezoo.api.build import create_model
from aezoo.api.catalog import load_dataset
from aezoo.api.share import export_run, import_export
from aezoo.errors import BadHyperparameterError, DatasetError, RegistryError
from aezoo.registry import Registry, sha256_file
from aezoo.registry.export import ExportError


@pytest.fixture
def run(zoo_home):
    model = create_model("conv-vae", input_shape=(1, 8, 8))
    return Registry().save("conv-vae", model.state_dict(), hyperparameters={}, input_shape=(1, 8, 8),
                           config={"dataset": "digits"}, metrics={}, history=[])


@pytest.fixture
def export_dir(run, tmp_path):
    return export_run(run.id, tmp_path / "export", samples=False)


def rehash(folder, *names):
    """A careful forger: fix the manifest's sha256 and size of ``names`` (and config.json's weights entry)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for name in names:
        manifest["files"][name] = {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
    if "model.safetensors" in names and (folder / "config.json").exists():
        config = json.loads((folder / "config.json").read_text())
        if "weights" in config:
            config["weights"].update(manifest["files"]["model.safetensors"])
            (folder / "config.json").write_text(json.dumps(config))
            manifest["files"]["config.json"] = {"sha256": sha256_file(folder / "config.json"),
                                                "bytes": (folder / "config.json").stat().st_size}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def edit_config(folder, **hyperparameters):
    config = json.loads((folder / "config.json").read_text())
    config["hyperparameters"].update(hyperparameters)
    (folder / "config.json").write_text(json.dumps(config))
    rehash(folder, "config.json")


# ---- 2a: an export's config is bounded and checked against the weights' header before allocating ----------

def test_a_huge_model_in_an_export_config_is_refused_before_building(export_dir):
    edit_config(export_dir, channels=[600000])
    for attempt in (lambda: aezoo.load(str(export_dir)), lambda: import_export(export_dir)):
        with pytest.raises(RegistryError, match="over the limit of 20,000,000"):
            attempt()
    result = zoo("import", export_dir)
    assert result.exit_code == 1 and "config.json" in result.output and "Traceback" not in result.output


def test_weights_that_do_not_fit_the_config_are_refused_from_the_header(export_dir, monkeypatch):
    edit_config(export_dir, latent_dim=3)
    from aezoo.registry import export

    def never(*args, **kwargs):
        raise AssertionError("tensor data read before the header was checked")

    monkeypatch.setattr(export, "read_safetensors", never)
    with pytest.raises(RegistryError, match="weights do not fit.*shape"):
        aezoo.load(str(export_dir))


@pytest.mark.parametrize("config", [{"input_shape": ["a", 8, 8]}, {"input_shape": [1, 8]},
                                    {"hyperparameters": {"likelihood": "poisson"}},
                                    {"hyperparameters": {"beta": float("nan")}}])
def test_malformed_export_configs_are_one_line(export_dir, config):
    data = json.loads((export_dir / "config.json").read_text())
    for key, value in config.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    (export_dir / "config.json").write_text(json.dumps(data))
    rehash(export_dir, "config.json")
    result = zoo("import", export_dir)
    assert result.exit_code == 1 and "Traceback" not in result.output and result.output.startswith("Error: ")
    assert len(result.output.strip().splitlines()) == 1


# ---- 10: every file a load depends on is verified, dtypes included ----------------------------------------

def test_an_edited_run_config_is_refused_at_load(run):
    config = json.loads((run.path / "config.json").read_text())
    config["hyperparameters"]["beta"] = 100.0
    (run.path / "config.json").write_text(json.dumps(config))
    with pytest.raises(RegistryError, match="config.json"):
        aezoo.load(run.id)


@pytest.mark.parametrize("dtype, name", [(torch.float16, "F16"), (torch.int64, "I64")])
def test_weights_of_another_dtype_are_refused(run, dtype, name):
    state = {k: v.to(dtype) for k, v in aezoo.load(run.id).state_dict().items()}
    save_file(state, str(run.weights_path))
    manifest = json.loads((run.path / "manifest.json").read_text())
    manifest["files"]["model.safetensors"] = {"sha256": sha256_file(run.weights_path),
                                              "bytes": run.weights_path.stat().st_size}
    (run.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RegistryError, match=f"dtype {name}, model expects F32"):
        aezoo.load(run.id)


# ---- 11: links out of an export, sizes before hashes ------------------------------------------------------

def test_an_export_with_a_link_is_refused_without_reading_the_target(export_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not hash me")
    (export_dir / "README.md").unlink()
    (export_dir / "README.md").symlink_to(secret)
    with pytest.raises(ExportError, match="symbolic links \\(README.md\\)") as err:
        aezoo.load(str(export_dir))
    assert sha256_file(secret) not in str(err.value)


def test_an_export_file_of_the_wrong_size_is_refused_before_hashing(export_dir):
    with open(export_dir / "history.json", "ab") as f:
        f.truncate(1 << 34)
    with pytest.raises(ExportError, match="17179869184 bytes but manifest.json says"):
        aezoo.load(str(export_dir))


# ---- 2b, 2c, 12: values that would allocate without bound, or are not numbers ------------------------------

@pytest.mark.parametrize("hp, words", [({"channels": (100000,)}, "over the limit"),
                                       ({"latent_dim": 10**9}, "over the limit"),
                                       ({"latent_dim": 10**20}, "larger than"),
                                       ({"beta": float("inf")}, "not a finite number"),
                                       ({"channels": (32, float("nan"))}, "not a finite number")])
def test_create_model_refuses_absurd_hyperparameters_without_allocating(hp, words):
    with pytest.raises(BadHyperparameterError, match=words):
        create_model("conv-vae", input_shape=(1, 28, 28), **hp)


def test_npz_labels_past_the_limit_are_refused(tmp_path):
    path = tmp_path / "lab.npz"
    np.savez(path, x=np.zeros((50, 8, 8), np.uint8), y=np.full(50, 10**12))
    with pytest.raises(DatasetError, match="label 1000000000000"):
        load_dataset(f"npz:{path}")


# ---- 9: pixels read as they are, or refused -------------------------------------------------------------

def test_sixteen_bit_pngs_are_scaled_to_eight_bits(tmp_path):
    from PIL import Image

    folder = tmp_path / "deep"
    folder.mkdir()
    values = [0, 257, 32768, 65535]
    for i, v in enumerate(values * 2):
        Image.fromarray(np.full((6, 6), v, dtype=np.uint16)).save(folder / f"{i}.png")
    splits = load_dataset(f"folder:{folder}")
    assert splits.input_shape == (1, 6, 6)
    seen = sorted({int(t) for s in (splits.train, splits.val, splits.test) for t in s.images.unique()})
    assert seen == sorted({v >> 8 for v in values})  # 0, 1, 128, 255: not clipped to 255


def test_float_images_are_refused(tmp_path):
    from PIL import Image

    folder = tmp_path / "float"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(np.full((6, 6), 0.5, dtype=np.float32)).save(folder / f"{i}.tif")
    with pytest.raises(DatasetError, match="floating-point"):
        load_dataset(f"folder:{folder}")


@pytest.mark.parametrize("shape", [(20, 8, 8, 5), (20, 4, 5, 3), (20, 3, 8, 1)])
def test_ambiguous_npz_layouts_are_refused_with_the_layouts_that_work(tmp_path, shape):
    path = tmp_path / "x.npz"
    np.savez(path, x=np.zeros(shape, np.uint8))
    with pytest.raises(DatasetError, match=r"cannot tell which axis holds the channels.*\(N, C, H, W\)"):
        load_dataset(f"npz:{path}")


def test_eval_no_save_writes_nothing_into_the_registry(zoo_home):
    assert zoo("train", "mlp-ae", "--epochs", "1").exit_code == 0
    before = sorted(p.relative_to(zoo_home) for p in zoo_home.rglob("*"))
    result = zoo("eval", "mlp-ae", "--no-save", "--iw-samples", "2")
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(zoo_home) for p in zoo_home.rglob("*")) == before
