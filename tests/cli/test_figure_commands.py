"""Every evaluation and figure command runs on a small model trained here on digits and writes valid files."""
import json

import numpy as np
import pytest
from helpers import zoo

from aezoo.registry import Registry

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sorted_npz(tmp_path_factory):
    """scikit-learn's digits stored sorted by label: taking the first test images would show only zeros."""
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.argsort(d.target, kind="stable")
    path = tmp_path_factory.mktemp("sorted") / "sorted-digits.npz"
    np.savez(path, x=np.round(d.images[order] * 255 / 16).astype(np.uint8), y=d.target[order])
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory, sorted_npz):
    home = tmp_path_factory.mktemp("figs-home")
    for model, extra in (("conv-vae", []), ("mlp-ae", ["--latent-dim", "2"]),
                         ("denoising-ae", ["--set", "noise=salt-pepper", "--set", "noise_level=0.2"])):
        result = zoo("train", model, "--epochs", "3", "--home", str(home),
                                           "--dataset", f"npz:{sorted_npz}", *extra)
        assert result.exit_code == 0, result.output
    return str(home)


PANELS = {"reconstruct": 2, "sample": 1, "generate": 2, "interpolate": 1, "denoise": 3, "inpaint": 3, "latent": 1}


def image_panels(path) -> list:
    """The figure's rows of images, top to bottom: horizontal bands at least 20 px high that images cover
    densely (right of the row labels), each as its non-white grey pixels."""
    from matplotlib.image import imread

    with open(path, "rb") as f:
        assert f.read(8) == PNG
    grey = imread(path)[..., :3].mean(-1)
    height, width = grey.shape
    assert height >= 100 and width >= 300, grey.shape
    right = grey[:, int(0.15 * width):]
    dense = list((right < 0.97).mean(1) > 0.2) + [False]
    panels, start = [], None
    for row, covered in enumerate(dense):
        if covered and start is None:
            start = row
        elif not covered and start is not None:
            if row - start >= 20:
                band = right[start:row]
                panels.append(band[band < 0.97])
            start = None
    return panels


def assert_panels(path, expected: int) -> None:
    """``expected`` rows of images, none of them blank: in a blank (uniform) row almost every pixel has the
    row's median grey level (measured: under 1 % of pixels differ by 0.1; at least 24 % in real figures)."""
    panels = image_panels(path)
    assert len(panels) == expected, f"{path}: {len(panels)} rows of images, expected {expected}"
    for i, pixels in enumerate(panels):
        varied = np.mean(np.abs(pixels - np.median(pixels)) > 0.1)
        assert varied > 0.1, f"{path}: row {i + 1} of images is blank ({varied:.3f} of its pixels vary)"


def assert_scatter(path) -> None:
    """A latent map: coloured points (one colour per label) on a white plot."""
    from matplotlib.image import imread

    rgb = imread(path)[..., :3]
    coloured = (rgb.max(-1) - rgb.min(-1)) > 0.3
    assert 0.002 < coloured.mean() < 0.5, f"{path}: {coloured.mean():.4f} of the pixels are coloured points"
    hues = {tuple(c) for c in (rgb[coloured] * 4).round().astype(int)}
    assert len(hues) >= 5, f"{path}: points in only {len(hues)} colours; labels should colour them"


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
        if args[0] == "latent" and not path.endswith("-grid.png"):
            assert_scatter(path)
        elif path.endswith("-grid.png"):
            assert_panels(path, 15)  # 15 rows of tiles, white gaps between them
        else:
            assert_panels(path, PANELS[args[0]])


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
    metrics = json.loads(result.stdout)
    assert metrics["test_n_images"] == 359 and metrics["test_iw_samples"] == 5
    assert metrics["test_iw_nll"] <= metrics["test_neg_elbo"] + 1.0
    consistency = metrics["class_consistency"]
    assert set(consistency) == {str(k) for k in range(10)} | {"mean"}
    assert consistency["mean"] == pytest.approx(sum(v for k, v in consistency.items() if k != "mean") / 10)
    saved = Registry(home).get("conv-vae").metrics
    assert saved["test_neg_elbo"] == metrics["test_neg_elbo"] and "val_loss" in saved
    plain = json.loads(zoo("eval", "mlp-ae", "--home", home, "--json", "--no-save").stdout)
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


def figure_json(home, tmp_path, *args):
    result = zoo(*args, "--home", home, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def not_blank(path):
    """The figure's image panels hold more than a flat colour."""
    from matplotlib.image import imread

    pixels = imread(path)[..., :3]
    return pixels.std() > 0.05


def test_reconstruct_shows_every_class_of_sorted_data_and_says_which(home, tmp_path):
    result = zoo("reconstruct", "conv-vae", "--home", home, "-o", tmp_path / "r.png")
    assert result.exit_code == 0, result.output
    line = [l for l in result.output.splitlines() if l.startswith("test images ")]
    assert line and "(0)" in line[0] and "(9)" in line[0]
    shown = figure_json(home, tmp_path, "reconstruct", "conv-vae", "-o", tmp_path / "r.png")
    images = shown["images"][0]
    assert images["labels"][:10] == list(range(10)) and len(set(images["test_images"])) == 16
    again = figure_json(home, tmp_path, "reconstruct", "mlp-ae", "-o", tmp_path / "r2.png")
    assert again["images"][0]["test_images"] == images["test_images"]  # same picks for every run of the data
    assert not_blank(tmp_path / "r.png")


def test_interpolation_joins_two_classes_and_slerp_gets_its_own_file(home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    linear = figure_json(home, tmp_path, "interpolate", "conv-vae")
    spherical = figure_json(home, tmp_path, "interpolate", "conv-vae", "--slerp")
    labels = linear["images"][0]["labels"]
    assert len(labels) == 2 and labels[0] != labels[1]
    assert linear["files"] != spherical["files"] and all(not_blank(f) for f in linear["files"] + spherical["files"])


def test_default_file_names_differ_between_options(home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = [["sample", "conv-vae"], ["sample", "conv-vae", "--sampler", "gmm"], ["sample", "conv-vae", "--seed", "1"],
            ["generate", "conv-vae", "--label", "3"], ["generate", "conv-vae", "--label", "all"],
            ["denoise", "conv-vae"], ["denoise", "conv-vae", "--noise", "salt-pepper"]]
    files = [figure_json(home, tmp_path, *args)["files"][0] for args in runs]
    assert len(set(files)) == len(files), files


def test_generate_all_labels_gives_one_row_per_class(home, tmp_path):
    shown = figure_json(home, tmp_path, "generate", "conv-vae", "--label", "all", "-n", "4", "-o", tmp_path / "g.png")
    assert shown["labels"] == list(range(10)) and not_blank(tmp_path / "g.png")
    assert zoo("generate", "conv-vae", "--label", "seven", "--home", home).exit_code == 2


def test_denoise_defaults_to_the_runs_own_noise(home, tmp_path):
    shown = figure_json(home, tmp_path, "denoise", "denoising-ae", "-o", tmp_path / "d.png")
    assert (shown["corruption"], shown["level"], shown["trained_for_it"]) == ("salt-pepper", 0.2, True)
    other = figure_json(home, tmp_path, "denoise", "denoising-ae", "--noise", "gaussian", "-o", tmp_path / "g.png")
    assert (other["corruption"], other["level"], other["trained_for_it"]) == ("gaussian", 0.3, False)
    plain = figure_json(home, tmp_path, "inpaint", "conv-vae", "-o", tmp_path / "i.png")
    assert plain["trained_for_it"] is False and plain["images"][0]["labels"][:8] == list(range(8))


def test_traverse_ranks_dimensions(home, tmp_path):
    vae = figure_json(home, tmp_path, "traverse", "conv-vae", "--dims", "4", "-o", tmp_path / "t.png")
    kls = [d["kl"] for d in vae["dims"]]
    assert vae["ranked_by"] == "KL" and len(kls) == 4 and kls == sorted(kls, reverse=True)
    ae = figure_json(home, tmp_path, "traverse", "mlp-ae", "-o", tmp_path / "a.png")
    assert ae["ranked_by"] == "variance" and len(ae["dims"]) == 2 and not_blank(tmp_path / "a.png")


def test_an_unknown_run_of_a_known_model_says_how_to_train_one(home):
    result = zoo("inpaint", "inpainting-ae", "--home", home)
    assert result.exit_code == 1 and "zoo train inpainting-ae" in result.output and "denoising-ae" not in result.output


def test_eval_says_which_run_it_evaluated_and_that_it_saved(home):
    result = zoo("eval", "conv-vae", "--home", home, "--iw-samples", "2")
    assert result.exit_code == 0, result.output
    assert "evaluated conv-vae-1 (resolved from 'conv-vae')" in result.output
    assert "saved the metrics into" in result.output and "metrics.json" in result.output


def test_report_of_a_plain_autoencoder_evaluates_first_and_never_shows_a_missing_metric_as_zero(home, tmp_path):
    result = zoo("report", "mlp-ae", "--home", home, "-o", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    assert "no test metrics" in result.output and "evaluating it on the test split first" in result.output
    html = (tmp_path / "r.html").read_text()
    row = html[html.index("negative ELBO"):].split("</tr>", 1)[0]
    assert "n/a: " in row and ">0.00<" not in row
    assert "Class-conditional generation" in html and "Interpolations" in html and "History table" in html
    assert "Not shown: this model was trained on clean inputs" in html
    trained = (tmp_path / "d.html")
    assert zoo("report", "denoising-ae", "--home", home, "-o", trained).exit_code == 0
    assert "corrupted as in training (salt-pepper 0.2)" in trained.read_text()


def test_compare_puts_runs_side_by_side(home, tmp_path):
    out = tmp_path / "cmp.html"
    result = zoo("compare", "conv-vae", "mlp-ae", "conv-vae:latest", "--home", home, "-o", out)
    assert result.exit_code == 0, result.output
    summary = json.loads(out.with_suffix(".json").read_text())
    assert [r["id"] for r in summary["runs"]] == ["conv-vae-1", "mlp-ae-1"]
    table = {row["metric"]: row["cells"] for row in summary["table"]}
    assert table["test_neg_elbo"]["mlp-ae-1"].startswith("n/a: ") and float(table["test_neg_elbo"]["conv-vae-1"]) > 0
    assert table["test_psnr"]["mlp-ae-1"] not in ("0", "0.00")
    picked = next(iter(summary["test_images"].values()))
    assert picked["labels"] == list(range(10))
    html = out.read_text()
    assert "conv-vae-1" in html and "mlp-ae-1" in html and html.count("data:image/png;base64,") == 5


def test_compare_train_trains_each_model_first(tmp_path):
    home = tmp_path / "h"
    out = tmp_path / "c.html"
    result = zoo("compare", "--train", "mlp-ae", "conv-ae", "--dataset", "digits", "--epochs", "1",
                 "--home", home, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [r["id"] for r in summary["runs"]] == ["mlp-ae-1", "conv-ae-1"]
    assert [r["seed"] for r in (Registry(home).get(i).config["train"] for i in ("mlp-ae-1", "conv-ae-1"))] == [0, 0]
