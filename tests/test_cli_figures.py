"""Every evaluation and figure command runs on a small model trained here on digits and writes valid files."""
import json

import pytest
from click.testing import CliRunner

from aezoo.cli import main
from aezoo.registry import Registry

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("figs-home")
    for model, extra in (("conv-vae", []), ("mlp-ae", ["--latent-dim", "2"])):
        result = CliRunner().invoke(main, ["train", model, "--epochs", "3", "--home", str(home), *extra])
        assert result.exit_code == 0, result.output
    return str(home)


def zoo(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def wrote(result):
    paths = [line.split("wrote ", 1)[1] for line in result.output.splitlines() if line.startswith("wrote ")]
    assert paths, result.output
    return paths


@pytest.mark.parametrize("args", [
    ["reconstruct"], ["latent"], ["sample", "-n", "9"], ["sample", "--like", "3"], ["generate", "--label", "4"],
    ["interpolate", "--from", "0", "--to", "5", "--steps", "6"], ["interpolate", "--from", "0", "--to", "5", "--slerp"],
    ["denoise"], ["inpaint", "--mask", "pixels"],
], ids=lambda a: "-".join(a))
@pytest.mark.parametrize("ref", ["conv-vae", "mlp-ae"])
def test_figure_commands_write_pngs(home, tmp_path, ref, args):
    out = tmp_path / "figure.png"
    result = zoo(args[0], ref, *args[1:], "--home", home, "-o", out)
    assert result.exit_code == 0, result.output
    for path in wrote(result):
        with open(path, "rb") as f:
            assert f.read(8) == PNG


def test_latent_of_a_2d_model_also_writes_the_decoded_grid(home, tmp_path):
    result = zoo("latent", "mlp-ae", "--home", home, "-o", tmp_path / "lat.png")
    assert [p.rsplit("/", 1)[1] for p in wrote(result)] == ["lat.png", "lat-grid.png"]


def test_sampling_a_plain_autoencoder_says_why_it_fits_a_gaussian(home, tmp_path):
    result = zoo("sample", "mlp-ae", "--home", home, "-o", tmp_path / "s.png")  # output has stdout and stderr
    assert result.exit_code == 0
    assert "does not shape its latent space" in result.output and "a Gaussian fitted to its training codes" in result.output
    vae = zoo("sample", "conv-vae", "--home", home, "-o", tmp_path / "v.png")
    assert "not regularised" not in vae.output and "codes drawn from the prior N(0, I)" in vae.output


def test_denoise_prints_the_errors(home, tmp_path):
    result = zoo("denoise", "conv-vae", "--home", home, "-o", tmp_path / "d.png")
    assert "MSE vs clean: corrupted" in result.output and "PSNR" in result.output


def test_report_is_one_self_contained_html_page(home, tmp_path):
    result = zoo("report", "conv-vae", "--home", home, "-o", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert html.count("data:image/png;base64,") >= 8
    assert "http://" not in html and "https://" not in html
    assert "Training curves" in html and "conv-vae" in html


def test_eval_prints_json_and_saves_into_metrics(home):
    result = zoo("eval", "conv-vae", "--home", home, "--iw-samples", "5", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["test_n_images"] == 359 and metrics["test_iw_samples"] == 5
    assert metrics["test_iw_nll"] <= metrics["test_neg_elbo"] + 1.0
    assert 0 <= metrics["class_consistency"]["mean"] <= 1
    saved = Registry(home).get("conv-vae").metrics
    assert saved["test_neg_elbo"] == metrics["test_neg_elbo"] and "val_loss" in saved
    plain = json.loads(zoo("eval", "mlp-ae", "--home", home, "--json", "--no-save").output)
    assert "test_neg_elbo" not in plain and plain["test_compression_ratio"] == 64 / 8
    assert "test_bce" not in Registry(home).get("mlp-ae").metrics


@pytest.mark.parametrize("args, message", [
    (["interpolate", "conv-vae", "--from", "0", "--to", "100000"], "out of range"),
    (["generate", "conv-vae", "--label", "42"], "does not occur"),
    (["sample", "conv-vea"], "did you mean"),
    (["latent", "conv-vae", "--dataset", "npz:/nonexistent.npz"], "nonexistent.npz"),
])
def test_bad_input_is_a_one_line_error(home, args, message):
    result = zoo(*args, "--home", home)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
