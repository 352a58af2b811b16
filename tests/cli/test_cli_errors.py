"""Every failure is one line with the right exit code: bad inputs to the CLI, plugins that fail in every way
they can at load, and the `zoo runs` commands that must stay torch-free."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import zoo

import aezoo

SRC = str(Path(aezoo.__file__).parents[1])


def assert_one_line(result, code=1, *words):
    """Exit ``code``, no traceback, the error on one line (click's usage lines aside) naming ``words``."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0], (word, errors[0])


# ---- plugins that fail at load ----------------------------------------------------------------------------

BAD_PLUGINS = {
    "exits": "import sys\nsys.exit(3)\n",
    "interrupts": "raise KeyboardInterrupt\n",
    "chatty": ("import aezoo\nprint('hello from chatty')\n\n@aezoo.hookimpl\ndef register_models(register):\n"
               "    print('registering')\n    register('chatty-ae', 'aezoo.models.ae:build', 'Chatty')\n"),
    "exits-in-hook": ("import aezoo, sys\n\n@aezoo.hookimpl\ndef register_models(register):\n    sys.exit(1)\n"),
}


def _install(tmp_path, name, source):
    module = f"aezoo_{name.replace('-', '_')}"
    dist = tmp_path / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[aezoo]\n{name} = {module}\n")
    (tmp_path / f"{module}.py").write_text(source)


def _zoo_process(args, path):
    code = "import sys; from aezoo.cli import main; main(sys.argv[1:])"
    env = {"PYTHONPATH": os.pathsep.join([str(path), SRC]), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)


def test_a_plugin_that_exits_interrupts_or_prints_at_load_breaks_nothing(tmp_path):
    for name, source in BAD_PLUGINS.items():
        _install(tmp_path, name, source)
    listed = _zoo_process(["list", "--json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = {m["name"] for m in json.loads(listed.stdout)}  # valid JSON despite the prints
    assert {"conv-vae", "chatty-ae"} <= names
    result = _zoo_process(["plugins", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert "sys.exit(3)" in plugins["exits"]["errors"][0]
    assert "KeyboardInterrupt" in plugins["interrupts"]["errors"][0]
    assert "sys.exit(1)" in plugins["exits-in-hook"]["errors"][0]
    assert plugins["chatty"]["ok"] and "hello from chatty" in plugins["chatty"]["output"]
    text = _zoo_process(["plugins"], tmp_path).stdout
    assert "printed while loading: hello from chatty" in text


# ---- bad inputs ---------------------------------------------------------------------------------------------

def _toml(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


CONFIG_CASES = [  # (TOML text, words the one-line error must hold)
    ('epochs = "ten"', ["epochs", "expected an integer"]),
    ("device = 5", ["device", "expected a string"]),
    ("seed = 1.5", ["seed", "expected an integer"]),
    ("patience = -1", ["patience"]),
    ("epochs = 1.5", ["epochs"]),
    ("epochs = 0", ["epochs"]),
    ('optimizer = "adamm"', ["optimizer"]),
    ("lr = true", ["lr", "expected a number"]),
    ("[hyperparameters]\nchannels = 5", ["channels", "list"]),
    ('[hyperparameters]\nbeta = "x"', ["beta", "number"]),
    ("hyperparameters = 3", ["hyperparameters", "table"]),
    (b"\xff\xfeepochs = 1", ["not UTF-8"]),
    ("epochs = ", ["cannot read"]),
    ("nonsense = 1", ["unknown keys"]),
]


@pytest.mark.parametrize("text, words", CONFIG_CASES)
def test_config_values_pass_the_same_checks_as_flags(tmp_path, text, words):
    path = _toml(tmp_path, text)
    result = zoo("train", "conv-vae", "--config", path)
    assert_one_line(result, 2, str(path), *words)


SET_CASES = [  # (arguments, exit code, words); none of them may train or allocate anything large
    (["--set", "channels=100000"], 1, ["channels=(100000,)", "over the limit of 20,000,000"]),
    (["--set", "latent_dim=1000000000"], 1, ["latent_dim=1000000000", "parameters"]),
    (["--latent-dim", "99999999999999999999"], 1, ["latent_dim", "larger than"]),
    (["--set", "beta=inf"], 1, ["beta=inf", "finite"]),
    (["--set", "beta=nan"], 1, ["beta=nan", "finite"]),
    (["--seed", "99999999999999999999"], 2, ["--seed"]),
    (["--lr", "1e300"], 1, ["learning rate", "float32"]),
    (["--set", "channels=0"], 1, ["channels"]),
    (["--set", "latent_dim=x"], 2, ["latent_dim"]),
]


@pytest.mark.parametrize("args, code, words", SET_CASES)
def test_absurd_values_are_refused_with_the_limit(args, code, words):
    assert_one_line(zoo("train", "conv-vae", "--epochs", "1", *args), code, *words)


@pytest.mark.parametrize("sets", [["mask=block", "mask_level=2"], ["mask=pixels", "mask_level=-0.5"]])
def test_corruption_levels_out_of_range_are_refused(sets):
    args = [a for s in sets for a in ("--set", s)]
    assert_one_line(zoo("train", "inpainting-ae", "--epochs", "1", *args), 1, "level must be between")


def test_a_home_that_is_a_file_is_one_line(tmp_path):
    home = tmp_path / "afile"
    home.write_text("x")
    assert_one_line(zoo("train", "mlp-ae", "--epochs", "1", "--home", home), 2, str(home))  # a bad option: exit 2


def test_read_only_home_is_one_line(tmp_path):
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    try:
        if os.access(home, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        assert_one_line(zoo("train", "mlp-ae", "--epochs", "1", "--home", home), 2, str(home))  # a bad option: exit 2
    finally:
        home.chmod(0o700)


def test_unwritable_figure_path_is_one_line():
    assert zoo("train", "mlp-ae", "--epochs", "1").exit_code == 0
    assert_one_line(zoo("reconstruct", "mlp-ae", "-o", "/proc/x.png"), 1, "/proc/x.png")


def test_a_decompression_bomb_in_a_folder_dataset_is_one_line(tmp_path, monkeypatch):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(4):
        Image.new("L", (64, 64), color=i).save(folder / f"{i}.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64x64 = 4096 > 2 x 1000: PIL refuses it as a bomb
    assert_one_line(zoo("train", "mlp-ae", "--dataset", f"folder:{folder}", "--epochs", "1"), 1, "0.png")


def test_a_text_file_as_npz_is_explained_without_numpy_advice(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("just some text\n")
    result = zoo("train", "mlp-ae", "--dataset", f"npz:{path}", "--epochs", "1")
    assert_one_line(result, 1, str(path), "not an .npz")
    assert "pickle" not in result.output and "unsafe" not in result.output


def test_runs_model_filter_says_which_models_have_runs():
    assert zoo("train", "mlp-ae", "--epochs", "1").exit_code == 0
    result = zoo("runs", "--model", "nope")
    assert result.exit_code == 0 and "no runs of model 'nope'" in result.output and "mlp-ae" in result.output


def test_escape_sequences_from_a_config_are_not_printed_raw(zoo_home):
    import torch

    from aezoo.registry import Registry

    Registry().save("mlp-ae", {"w": torch.zeros(2)}, hyperparameters={}, input_shape=(1, 8, 8),
                    config={"dataset": "\x1b[2J\x1b]0;pwned\x07digits"}, metrics={}, history=[])
    result = zoo("runs")
    assert result.exit_code == 0 and "\x1b" not in result.output and "\\x1b[2J" in result.output


def test_runs_commands_import_no_torch(zoo_home):
    code = textwrap.dedent("""
        import sys
        from aezoo.cli import main
        for args in (["runs"], ["runs", "--json"], ["runs", "verify"], ["runs", "gc"],
                     ["runs", "untag", "m:x"], ["runs", "rm", "m-1", "--yes"], ["runs", "checkpoints"],
                     ["runs", "--help"]):
            try:
                main(args)
            except SystemExit as e:
                pass
        heavy = [m for m in ("torch", "torchvision", "sklearn", "matplotlib", "numpy") if m in sys.modules]
        assert not heavy, heavy
    """)
    env = {**os.environ, "PYTHONPATH": SRC}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def test_npz_with_huge_labels_is_refused_without_building_class_names(tmp_path):
    path = tmp_path / "lab.npz"
    np.savez(path, x=np.zeros((50, 8, 8), np.uint8), y=np.full(50, 10**12))
    assert_one_line(zoo("train", "mlp-ae", "--dataset", f"npz:{path}", "--epochs", "1"), 1, "label 1000000000000")
