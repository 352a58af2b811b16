"""What a teacher relies on: titles name the run, --title/--dpi/--style on every figure command, the same PNG from
the CLI and the Python API, a clear line for --method umap without umap-learn, sweeps named by their values, and
the posterior-collapse warning wherever a user looks."""
import json

import pytest
from helpers import zoo, zoo_ok

import aezoo
from aezoo.registry import Registry

COLLAPSED, HEALTHY = "collapsed (vae-1)", "healthy (conv-vae-1)"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A collapsed 2-D VAE (beta 20), a healthy conv VAE (beta 0.2) and a 2-D plain AE, briefly trained."""
    home = str(tmp_path_factory.mktemp("compare-home"))
    zoo_ok("train", "vae", "--epochs", "2", "--set", "beta=20", "--name", "collapsed", "--home", home)
    zoo_ok("train", "conv-vae", "--epochs", "3", "--set", "beta=0.2", "--name", "healthy", "--home", home)
    zoo_ok("train", "mlp-ae", "--epochs", "2", "--latent-dim", "2", "--home", home)
    return home


def shown(*args) -> dict:
    result = zoo(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


FIGURES = [["reconstruct"], ["latent", "--method", "pca"], ["sample"], ["sample", "--like", "3"], ["generate", "--label", "2"],
           ["generate", "--label", "all"], ["interpolate"], ["denoise"], ["inpaint"], ["traverse"]]


@pytest.mark.parametrize("args", FIGURES, ids=lambda a: "-".join(a))
def test_every_figure_command_titles_the_run_and_takes_title_dpi_and_style(home, tmp_path, args):
    default = shown(args[0], "healthy", *args[1:], "--home", home, "-o", tmp_path / "f.png")
    assert all(title.startswith(HEALTHY + ": ") and len(title) > len(HEALTHY) + 15 for title in default["titles"])
    mine = shown(args[0], "healthy", *args[1:], "--home", home, "-o", tmp_path / "g.png",
                 "--title", "Lecture 3", "--dpi", "50", "--style", "talk")
    assert mine["titles"][0] == "Lecture 3" and mine["style"] == "talk" and mine["dpi"] == 50


def test_dpi_changes_the_pngs_pixel_size(home, tmp_path):
    from matplotlib.image import imread

    zoo_ok("reconstruct", "healthy", "--home", home, "-o", tmp_path / "a.png")
    zoo_ok("reconstruct", "healthy", "--home", home, "-o", tmp_path / "b.png", "--dpi", "200")
    (h1, w1), (h2, w2) = imread(tmp_path / "a.png").shape[:2], imread(tmp_path / "b.png").shape[:2]
    assert h2 == pytest.approx(2 * h1, abs=2) and w2 == pytest.approx(2 * w1, abs=2)


def test_the_python_api_saves_the_png_the_cli_writes(home, tmp_path):
    from aezoo.viz import views

    zoo_ok("latent", "collapsed", "--home", home, "-o", tmp_path / "cli.png", "--style", "talk", "--dpi", "80")
    model = aezoo.load("collapsed", home=home)
    with aezoo.viz.style("talk"):
        fig = views.latent(model, aezoo.load_dataset("digits"))
    assert fig.save(tmp_path / "api.png", dpi=80).read_bytes() == (tmp_path / "cli.png").read_bytes()
    assert " ".join(fig.get_suptitle().split()).startswith(COLLAPSED + ": latent space")


def test_umap_without_umap_learn_is_one_clear_line(home, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "umap", None)
    result = zoo("latent", "healthy", "--method", "umap", "--home", home)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0 and "pip install umap-learn" in result.output


def test_collapse_is_warned_in_eval_report_and_compare_and_only_for_the_collapsed_run(home, tmp_path):
    collapsed = zoo("eval", "collapsed", "--home", home, "--iw-samples", "2")
    assert collapsed.exit_code == 0 and "warning: posterior collapse: the decoder ignores the code" in collapsed.output
    assert "try a smaller beta, KL warm-up or more epochs" in collapsed.output
    healthy = zoo("eval", "healthy", "--home", home, "--iw-samples", "2")
    assert healthy.exit_code == 0 and "posterior collapse" not in healthy.output
    zoo_ok("report", "collapsed", "--home", home, "-o", tmp_path / "r.html")
    assert "posterior collapse" in (tmp_path / "r.html").read_text()
    zoo_ok("report", "healthy", "--home", home, "-o", tmp_path / "h.html")
    assert "posterior collapse" not in (tmp_path / "h.html").read_text()
    out = zoo_ok("compare", "collapsed", "healthy", "mlp-ae", "--home", home, "-o", tmp_path / "c.html")
    assert "collapsed (vae-1): posterior collapse" in out and "healthy (conv-vae-1): posterior" not in out
    runs = json.loads((tmp_path / "c.json").read_text())["runs"]
    assert [bool(r["warnings"]) for r in runs] == [True, False, False]


def test_compare_labels_runs_and_shows_shared_latent_maps_and_n01_samples(home, tmp_path):
    zoo_ok("compare", "collapsed", "mlp-ae", "--home", home, "-o", tmp_path / "c.html")
    summary = json.loads((tmp_path / "c.json").read_text())
    runs = {r["id"]: r for r in summary["runs"]}
    assert runs["vae-1"]["name"] == "collapsed" and runs["vae-1"]["label"].startswith(COLLAPSED + ": ")
    assert runs["vae-1"]["differs_in"] == {"hidden": [512, 256]} and runs["mlp-ae-1"]["differs_in"] == {
        "hidden": [256, 128]}  # beta: only one run has it; latent_dim and epochs: the same
    maps = summary["latent_maps"]["digits"]
    assert maps["plane"] == "the 2-D codes themselves" and set(maps["runs"]) == {r["label"] for r in summary["runs"]}
    notes = summary["prior_samples"]["digits"]["runs"]
    ae = next(v for k, v in notes.items() if k.startswith("mlp-ae-1"))
    assert ae == {"trained_for_it": False,
                  "note": "decoded from N(0, I): this model was never trained to make these meaningful"}
    html = (tmp_path / "c.html").read_text()
    assert "Latent maps on shared axes" in html and "Decoded from N(0, I)" in html


def test_a_sweep_trains_one_named_run_per_value_and_reuses_them(tmp_path):
    home = tmp_path / "h"
    args = ("compare", "--train", "vae", "--set", "beta=0,4", "--epochs", "1", "--home", home, "-o", tmp_path / "s.html")
    zoo_ok(*args)
    registry = Registry(home)
    runs = {r.name: r for r in registry.list()}
    assert set(runs) == {"vae-beta0", "vae-beta4"}
    assert runs["vae-beta0"].hyperparameters["beta"] == 0.0 and runs["vae-beta4"].hyperparameters["beta"] == 4.0
    labels = [r["label"] for r in json.loads((tmp_path / "s.json").read_text())["runs"]]
    assert labels == [f"vae-beta0 ({runs['vae-beta0'].id}): beta=0", f"vae-beta4 ({runs['vae-beta4'].id}): beta=4"]
    again = zoo_ok(*args)
    assert "reusing" in again and len(registry.list()) == 2
    assert "vae-beta0" in zoo_ok("runs", "--home", home)


def test_sweep_plans_scope_keys_and_combine_values():
    from aezoo.commands.options import sweep_plans

    plans = sweep_plans(("beta=0,1", "latent_dim=2,3", "conv-ae.channels=8,16;16,32"), ["vae", "conv-ae"])
    names = [p.name for p in plans]
    assert names == ["vae-beta0-latent_dim2", "vae-beta0-latent_dim3", "vae-beta1-latent_dim2",
                     "vae-beta1-latent_dim3", "conv-ae-latent_dim2-channels8x16", "conv-ae-latent_dim2-channels16x32",
                     "conv-ae-latent_dim3-channels8x16", "conv-ae-latent_dim3-channels16x32"]
    assert plans[0].hyperparameters == {"beta": 0.0, "latent_dim": 2}
    assert plans[-1].hyperparameters == {"latent_dim": 3, "channels": (16, 32)}
    single = sweep_plans(("warmup=100",), ["conv-vae", "conv-ae"])
    assert [(p.model, p.hyperparameters, p.name) for p in single] == [("conv-vae", {"warmup": 100}, None),
                                                                      ("conv-ae", {}, None)]


@pytest.mark.parametrize("sets, message", [
    (("gamma=1",), "no model here has hyperparameter 'gamma'"),
    (("conv-ae.beta=2",), "no model here has hyperparameter 'beta'"),
    (("mlp.beta=2",), "'mlp' is not one of the models trained here"),
    (("beta",), "is not KEY=VALUE"),
])
def test_compare_set_mistakes_are_usage_errors(sets, message, tmp_path):
    args = [a for s in sets for a in ("--set", s)]
    result = zoo("compare", "--train", "vae", "conv-ae", *args, "--home", tmp_path)
    assert result.exit_code == 2 and message in result.output


def test_training_ends_with_the_collapse_warning_only_when_the_model_collapsed(tmp_path):
    collapsed = zoo_ok("train", "vae", "--epochs", "2", "--set", "beta=20", "--home", tmp_path)
    assert "warning: posterior collapse: the decoder ignores the code (KL" in collapsed
    assert "0 of 2 latent units active); try a smaller beta, KL warm-up or more epochs" in collapsed
    healthy = zoo_ok("train", "conv-vae", "--epochs", "3", "--set", "beta=0.2", "--home", tmp_path)
    assert "posterior collapse" not in healthy
    assert "posterior collapse" not in zoo_ok("train", "mlp-ae", "--epochs", "1", "--home", tmp_path)
