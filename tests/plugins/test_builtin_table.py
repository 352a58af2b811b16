"""The built-in plugin's table (aezoo.plugins.builtin): every model is a "module:function" string with all its
defaults, which its build accepts; a bad value is refused by name, in one line, before any model module or torch is
imported, and the build refuses the same value with the same words when called without the table's checks."""
import inspect
import json
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

import aezoo
from aezoo.errors import BadHyperparameterError
from aezoo.plugins import builtin
from aezoo.plugins.specs import REQUIRED, resolve

BUILTINS = [name for name, *_ in builtin.MODELS]


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_registration_is_accepted_by_its_build(name):
    spec = aezoo.model_spec(name)
    assert spec.plugin == "builtin" and isinstance(spec.factory, str) and spec.checks == builtin.CHECKS
    parameters = inspect.signature(resolve(spec.factory)).parameters
    takes = {k for k, p in parameters.items() if k != "input_shape"}
    needs = {k for k, p in parameters.items() if k != "input_shape" and p.default is inspect.Parameter.empty}
    assert set(spec.defaults) <= takes, f"{name}: the build takes no {sorted(set(spec.defaults) - takes)}"
    assert needs <= set(spec.defaults), f"{name}: the table gives no {sorted(needs - set(spec.defaults))}"
    assert spec.hyperparameters() == dict(spec.defaults) and REQUIRED not in spec.defaults.values()
    assert spec.check({}) == dict(spec.defaults)  # the checks accept every default


BAD = [  # (model, hyperparameters, words the one-line error must hold)
    ("vae", {"beta": -1.0}, ["beta", "-1.0", ">= 0"]),
    ("vae", {"hidden": ()}, ["hidden", "()", "layer widths"]),
    ("vae", {"warmup": -1}, ["warmup", "-1", "whole number"]),
    ("vae", {"likelihood": "poisson"}, ["likelihood", "'poisson'", "'bernoulli', 'gaussian'"]),
    ("conv-vae", {"latent_dim": 0}, ["latent_dim", "0", "positive integer"]),
    ("conv-ae", {"channels": (32, 0)}, ["channels", "(32, 0)", "layer widths"]),
    ("denoising-ae", {"noise": "salt-pepper", "noise_level": 2.0}, ["noise_level", "2.0", "between 0 and 1"]),
    ("denoising-ae", {"noise": "block"}, ["noise", "'block'", "'gaussian', 'salt-pepper'"]),
    ("inpainting-ae", {"mask": "holes"}, ["mask", "'holes'", "'pixels', 'block'"]),
    ("iwae", {"k": 0}, ["k must be a positive integer", "0"]),
    ("vamp-vae", {"components": 0}, ["components must be a positive integer"]),
    ("info-vae", {"alpha": 2.0}, ["alpha=2.0", "alpha <= 1", "must not be negative"]),
    ("beta-tcvae", {"alpha": -1.0}, ["alpha", "-1.0", ">= 0"]),
    ("beta-tcvae", {"sampling": "mss"}, ["sampling='mss' needs dataset_size", "dataset_size=0"]),
    ("vq-vae", {"embedding_dim": 5}, ["latent_dim must be a multiple of embedding_dim (5)", "16"]),
    ("vq-vae", {"codebook_size": 1}, ["codebook_size", "1", ">= 2"]),
    ("cvae", {"classes": 0}, ["classes", "0", ">= 1"]),
    ("fsq-vae", {"levels": (8, 5, 5)}, ["latent_dim must be a multiple of the number of levels (3", "16"]),
    ("fsq-vae", {"levels": (8, 1)}, ["levels", "(8, 1)", ">= 2"]),
    ("gumbel-vae", {"categories": 1}, ["categories", "1", ">= 2"]),
    ("gumbel-vae", {"min_temperature": 2.0}, ["min_temperature must not exceed temperature", "2.0"]),
    ("gumbel-vae", {"straight_through": 1}, ["straight_through", "true or false"]),
    ("wae-mmd", {"kernel_scale": 0.0}, ["kernel_scale", "0.0", "> 0"]),
    ("rae-l2", {"penalty": "l1"}, ["penalty", "'l1'", "'l2', 'gp'"]),
    ("factor-vae", {"disc_lr": 0.0}, ["disc_lr", "0.0", "> 0"]),
    ("factor-vae", {"gamma": -2.0}, ["gamma", "-2.0", ">= 0"]),
    ("aae", {"disc_hidden": (0,)}, ["disc_hidden", "(0,)", "layer widths"]),
    ("aae", {"adversarial_weight": -1.0}, ["adversarial_weight", "-1.0"]),
    ("miwae", {"m": 0}, ["m must be a positive integer", "0"]),
    ("piwae", {"k": 2.5}, ["k must be a positive integer", "2.5"]),
    ("ciwae", {"beta": 1.5}, ["beta must be between 0 and 1", "1.5"]),
    ("dip-vae", {"dip_type": "iii"}, ["dip_type", "'iii'", "'i', 'ii'"]),
    ("dip-vae", {"lambda_d": -1.0}, ["lambda_d", "-1.0", ">= 0"]),
    ("capacity-vae", {"capacity_steps": -5}, ["capacity_steps", "-5", "whole number"]),
    ("capacity-vae", {"capacity": -1.0}, ["capacity", "-1.0", ">= 0"]),
    ("swae", {"projections": 0}, ["projections must be a positive integer", "0"]),
    ("msssim-vae", {"window": 4}, ["window", "4", "odd positive integer"]),
    ("msssim-vae", {"scales": 6}, ["scales", "6", "from 1 to 5"]),
    ("vae-gan", {"feature_layer": 3}, ["feature_layer", "between 0 (the pixels) and 2", "3"]),
    ("vae-gan", {"disc_channels": ()}, ["disc_channels", "()", "layer widths"]),
]
IDS = [f"{m}-{'-'.join(hp)}" for m, hp, _ in BAD]


@pytest.mark.parametrize("name, hyperparameters, words", BAD, ids=IDS)
def test_a_bad_value_is_refused_by_the_registration_naming_key_value_and_expectation(name, hyperparameters, words):
    with pytest.raises(BadHyperparameterError) as refused:
        aezoo.model_spec(name).check(hyperparameters)
    message = str(refused.value)
    assert message.startswith(f"model {name!r}: ") and "\n" not in message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("name, hyperparameters, words", BAD, ids=IDS)
def test_the_build_refuses_the_same_value_in_the_same_words(name, hyperparameters, words):
    spec = aezoo.model_spec(name)
    with pytest.raises(BadHyperparameterError) as by_table:
        spec.check(hyperparameters)
    unchecked = replace(spec, checks=None)  # what a direct build meets: the parts' own checks
    with pytest.raises(ValueError) as by_build:
        unchecked.build((1, 8, 8), **hyperparameters)
    assert str(by_table.value) == f"model {name!r}: {by_build.value}"


def test_values_a_model_accepts_are_not_refused():
    for name, hyperparameters in [("factor-vae", {"disc_hidden": ()}), ("info-vae", {"alpha": -0.5, "lbd": 2.0}),
                                  ("vq-vae", {"latent_dim": 8.0, "embedding_dim": 2}),
                                  ("beta-tcvae", {"sampling": "mss", "dataset_size": 1294}),
                                  ("denoising-ae", {"noise_level": 1.5})]:
        aezoo.model_spec(name).check(hyperparameters)


def test_zoo_train_refuses_a_bad_name_key_or_value_without_importing_a_model_module_or_torch():
    code = textwrap.dedent("""
        import contextlib, io, json, sys
        from aezoo.cli import main
        out = []
        for args in (["vae", "--set", "beta=-1"], ["vae", "--set", "hidden="], ["conv-vae", "--set", "latent_dim=0"],
                     ["conv-vea"], ["conv-vae", "--set", "latnet_dim=2"], ["info-vae", "--set", "alpha=2"]):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                try:
                    main(["train", *args])
                except SystemExit as exit:
                    out.append([exit.code, err.getvalue()])
        heavy = sorted(m for m in sys.modules if m == "torch" or m.startswith("aezoo.models"))
        print(json.dumps({"results": out, "heavy": heavy}))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["heavy"] == []
    codes = [code for code, _ in seen["results"]]
    lines = [text.strip().splitlines() for _, text in seen["results"]]
    assert codes == [1, 1, 1, 1, 2, 1] and all(len(shown) == 1 for shown in lines[:4]), seen
    assert lines[0] == ["Error: model 'vae': beta must be a finite number >= 0, got -1.0"]
    assert "hidden must be one or more layer widths" in lines[1][0] and "got ()" in lines[1][0]
    assert lines[2] == ["Error: model 'conv-vae': latent_dim must be a positive integer, got 0"]
    assert "did you mean 'conv-vae'?" in lines[3][0]
    assert "no hyperparameter 'latnet_dim'" in seen["results"][4][1]
