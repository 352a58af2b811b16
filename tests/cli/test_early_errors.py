"""Errors before any loading: model names, dataset names, run references, --set keys and values, --resume keys and
file paths are checked before torch is imported or data is loaded, so the one-line error comes at once.
Every command runs in one subprocess in which importing torch fails loudly (a meta-path hook), so each command is
judged on its own."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from aezoo.registry import Registry

CASES = {  # id: (arguments, exit code, words the one-line error holds)
    "train-model": (["train", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "train-no-model": (["train"], 2, "give a MODEL to train"),
    "train-set-value": (["train", "conv-vae", "--set", "latent_dim=x"], 2, "latent_dim"),
    "train-set-empty": (["train", "vae", "--set", "hidden="], 1, "hidden must be one or more layer widths"),
    "train-set-key": (["train", "conv-vae", "--set", "latnet_dim=2"], 2, "no hyperparameter 'latnet_dim'"),
    "train-dataset": (["train", "conv-vae", "--dataset", "digts"], 1, "did you mean 'digits'?"),
    "train-npz-path": (["train", "conv-vae", "--dataset", "npz:missing.npz"], 1, "no such file"),
    "train-folder-path": (["train", "conv-vae", "--dataset", "folder:missing-dir"], 1, "no such folder"),
    "train-config-file": (["train", "conv-vae", "--config", "missing.toml"], 2, "missing.toml"),
    "train-resume": (["train", "--resume", "conv-vae-nokey"], 1, "unknown checkpoint 'conv-vae-nokey'"),
    "sample": (["sample", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "reconstruct": (["reconstruct", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "latent": (["latent", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "generate": (["generate", "conv-vea", "--label", "1"], 1, "did you mean 'conv-vae'?"),
    "interpolate": (["interpolate", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "traverse": (["traverse", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "denoise": (["denoise", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "inpaint": (["inpaint", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "eval": (["eval", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "report": (["report", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "compare": (["compare", "conv-vae", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "compare-train": (["compare", "--train", "conv-vae", "conv-vea"], 1, "did you mean 'conv-vae'?"),
    "compare-train-dataset": (["compare", "--train", "conv-vae", "--dataset", "digts"], 1, "did you mean 'digits'?"),
    "lesson-dataset": (["lesson", "--dataset", "digts"], 1, "did you mean 'digits'?"),
    "export": (["export", "conv-vea", "out-dir"], 1, "did you mean 'conv-vae'?"),
    "latent-dataset": (["latent", "conv-vae", "--dataset", "digts"], 1, "did you mean 'digits'?"),
    "eval-npz-path": (["eval", "conv-vae", "--dataset", "npz:missing.npz"], 1, "no such file"),
    "sample-alias": (["sample", "conv-vae:nope"], 1, "has no alias 'nope'"),
    "sample-export-folder": (["sample", "./missing-export"], 1, "no such folder"),
    "unknown-model-no-runs": (["sample", "vea"], 1, "did you mean model 'vae'? it has no saved run yet"),
    "qualified-model-no-runs": (["sample", "builtin/vae"], 1, "no run of model 'builtin/vae'"),
}

RUN_ALL = textwrap.dedent("""
    import contextlib, io, json, sys

    class NoTorch:
        tried = False
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                NoTorch.tried = True
                raise ImportError("torch imported before the error")
            return None

    sys.meta_path.insert(0, NoTorch())
    from aezoo.cli import main
    results = {}
    for key, args in json.loads(sys.argv[1]).items():
        NoTorch.tried = False
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                main(args)
                code = 0
            except SystemExit as exit:
                code = exit.code
            except ImportError as exc:
                code = f"ImportError: {exc}"
        results[key] = {"code": code, "stderr": err.getvalue(), "torch": NoTorch.tried}
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case run in one subprocess that cannot import torch, against a registry holding one conv-vae run
    (of digits)."""
    home = tmp_path_factory.mktemp("early") / "zoo-home"
    Registry(home).save("conv-vae", {"w": torch.zeros(1)}, hyperparameters={}, input_shape=(1, 8, 8),
                        config={"dataset": "digits"}, metrics={}, history=[])
    env = {**os.environ, "AEZOO_HOME": str(home)}
    cases = {key: args for key, (args, _, _) in CASES.items()}
    done = subprocess.run([sys.executable, "-c", RUN_ALL, json.dumps(cases)], capture_output=True, text=True,
                          env=env, cwd=home.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", list(CASES))
def test_the_error_comes_before_torch_is_imported(outcomes, case):
    args, code, words = CASES[case]
    seen = outcomes[case]
    assert not seen["torch"], f"zoo {' '.join(args)} imported torch before its error: {seen}"
    assert seen["code"] == code, seen
    lines = [line for line in seen["stderr"].splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and words in lines[0], seen
    if code == 1:
        assert seen["stderr"].strip() == lines[0]  # one line, no traceback


def test_every_command_that_names_a_run_model_or_dataset_is_covered():
    from aezoo.cli import main

    covered = {args[0] for args, _, _ in CASES.values()}
    heavy = {name for name, command in main.commands.items()
             if any(p.name in ("ref", "refs", "model", "dataset") for p in command.params)}
    assert heavy - {"runs"} <= covered  # `zoo runs` never imports torch at all (tests/cli/test_cli_errors.py)


@pytest.mark.parametrize("command", ["train", "eval", "latent", "sample", "reconstruct", "report", "compare", "lesson"])
def test_heavy_commands_take_threads(zoo, command):
    result = zoo(command, "--help")
    assert result.exit_code == 0 and "--threads" in result.output
