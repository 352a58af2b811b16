"""Every figure function returns a Figure whose PNG has the expected size; the report is self-contained HTML."""
from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

from aezoo.viz import draw as figures
from aezoo.viz.html import write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    assert Path(path).read_bytes()[:8] == PNG_SIGNATURE
    return imread(path)


def images(n: int = 12, c: int = 1, side: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, side, side, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def vae2():
    from aezoo.api.build import create_model

    torch.manual_seed(0)
    return create_model("conv-vae", input_shape=(1, 8, 8), latent_dim=2)


def test_tile_layout():
    x = images(5)
    grid = figures.tile(x, nrow=3, pad=1)
    assert grid.shape == (2 * 9 + 1, 3 * 9 + 1)
    assert np.allclose(grid[1:9, 1:9], x[0, 0].numpy())
    assert np.allclose(grid[10:18, 10:18], x[4, 0].numpy())
    assert figures.tile(images(4, c=3), nrow=2).shape == (19, 19, 3)


@pytest.mark.parametrize("channels", [1, 3])
def test_image_grid(tmp_path, channels):
    path = figures.image_grid(images(16, c=channels), nrow=4, title="samples").save(tmp_path / "grid.png")
    assert path == tmp_path / "grid.png"
    h, w = read_png(path).shape[:2]
    assert 150 <= h <= 700 and 150 <= w <= 700


def test_image_grid_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="C = 1 or 3"):
        figures.image_grid(torch.rand(4, 2, 8, 8))


def test_reconstruction_and_corruption_figures(tmp_path):
    x = images(8)
    rec = figures.reconstruction_figure(x, x.flip(0)).save(tmp_path / "rec.png")
    cor = figures.corruption_figure(x, x, x, errors={"corrupted_mse": 0.1, "restored_mse": 0.01}).save(tmp_path / "cor.png")
    for path in (rec, cor):
        h, w = read_png(path).shape[:2]
        assert w == int(round(100 * max(3.0, 0.7 * 8 + 1.5)))
    assert read_png(cor).shape[0] > read_png(rec).shape[0]  # three rows vs two


@pytest.mark.parametrize("method,dim", [("auto", 2), ("direct", 2), ("pca", 5), ("tsne", 5)])
def test_latent_figure(tmp_path, method, dim):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(120) % 4
    codes = torch.randn(120, dim, generator=g) + labels[:, None].float()
    path = figures.latent_figure(codes, labels, method=method).save(tmp_path / f"latent-{method}.png")
    assert read_png(path).shape[:2] == (550, 650)


def test_latent_figure_without_labels_and_many_classes(tmp_path):
    codes = torch.randn(60, 2)
    assert read_png(figures.latent_figure(codes, None).save(tmp_path / "a.png")).shape[:2] == (550, 650)
    assert read_png(figures.latent_figure(codes, torch.arange(60)).save(tmp_path / "b.png")).shape[:2] == (550, 650)
    with pytest.raises(ValueError, match="2-D latent"):
        figures.latent_figure(torch.randn(10, 3), None, method="direct")


def test_gaussian_grid_quantiles():
    values = figures.gaussian_grid(15, 3.0)
    assert values[0] == pytest.approx(-3.0) and values[-1] == pytest.approx(3.0) and values[7] == pytest.approx(0)
    assert values[1] - values[0] > values[8] - values[7]  # quantile spacing: denser near 0


def test_latent_grid_figure(tmp_path, vae2):
    path = figures.latent_grid_figure(vae2, n=6).save(tmp_path / "manifold.png")
    assert read_png(path).shape[:2] == (740, 700)
    from aezoo.api.build import create_model

    with pytest.raises(ValueError, match="2-D latent"):
        figures.latent_grid_figure(create_model("conv-vae", input_shape=(1, 8, 8), latent_dim=3))
    ae = create_model("conv-ae", input_shape=(1, 8, 8), latent_dim=2)
    with pytest.raises(ValueError, match="codes="):
        figures.latent_grid_figure(ae)
    read_png(figures.latent_grid_figure(ae, n=4, codes=torch.randn(30, 2)).save(tmp_path / "z.png"))


def test_interpolation_figure(tmp_path):
    one = figures.interpolation_figure(images(7)).save(tmp_path / "one.png")
    many = figures.interpolation_figure([images(7), images(7, seed=1), images(7, seed=2)]).save(tmp_path / "many.png")
    assert read_png(many).shape[0] > read_png(one).shape[0]


def test_curves_figure(tmp_path):
    history = [{"epoch": e, "train_loss": 50 / e, "val_loss": 55 / e, "train_reconstruction": 45 / e,
                "val_kl": 3.0} for e in range(1, 6)]
    assert read_png(figures.curves_figure(history).save(tmp_path / "curves.png")).shape[:2] == (400, 1000)
    plain = [{"epoch": 1, "train_loss": 2.0}]
    assert read_png(figures.curves_figure(plain).save(tmp_path / "plain.png")).shape[:2] == (400, 600)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [v for k, v in attrs if k in ("src", "href") and v]


def test_report_is_self_contained(tmp_path):
    png = figures.image_grid(images(4), nrow=2).save(tmp_path / "grid.png")
    config = {"model": "conv-vae", "note": "<script>alert(1)</script>", "optim": {"lr": 1e-3}}
    metrics = {"bce": 21.5, "psnr": 14.8, "latent_variances": [0.2, 0.01]}
    history = [{"epoch": 1, "train_loss": 30.0, "val_loss": 31.0}]
    path = write_report(tmp_path / "out" / "report.html", "Run <1>", config, metrics, {"samples": png}, history)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    parser = _Collector()
    parser.feed(text)
    assert {"html", "head", "body", "table", "img"} <= set(parser.tags)
    assert "script" not in parser.tags and "&lt;script&gt;" in text and "Run &lt;1&gt;" in text
    assert parser.links and all(link.startswith("data:image/png;base64,") for link in parser.links)
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:", text)
    embedded = base64.b64decode(parser.links[0].split(",", 1)[1])
    assert embedded == png.read_bytes()
    assert "optim.lr" in text and "0.001" in text and "21.5" in text


def test_latent_grid_covers_the_region_the_codes_occupy(tmp_path, vae2):
    codes = torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) * 0.5 + torch.tensor([40.0, -7.0])
    xs, ys = figures.code_range(codes, 5)
    assert 38 < xs[0] < xs[-1] < 42 and -9 < ys[0] < ys[-1] < -5  # not N(0, I) quantiles
    seen = []
    decode = vae2.decode
    vae2.decode = lambda z: (seen.append(z), decode(z))[1]
    try:
        figures.latent_grid_figure(vae2, n=5, codes=codes)
    finally:
        del vae2.decode
    assert 38 < seen[0][:, 0].min() and seen[0][:, 0].max() < 42 and -9 < seen[0][:, 1].min()


def test_curves_keep_diagnostics_off_the_loss_axes(tmp_path):
    history = [{"epoch": e, "train_loss": 10.0 / e, "val_loss": 11.0 / e, "train_kl": 1.0, "train_accuracy": 0.5}
               for e in (1, 2, 3)]
    three = figures.curves_figure(history, diagnostics=("accuracy",)).save(tmp_path / "c.png")
    two = figures.curves_figure(history).save(tmp_path / "d.png")
    assert read_png(three).shape[1] > read_png(two).shape[1]


def test_metric_cells_say_not_applicable_never_zero():
    from aezoo.viz import metrics as metric_table

    plain = {"test_n_images": 3, "test_psnr": 14.0, "test_not_applicable": {"neg_elbo": "no posterior density"}}
    cells = {m.key: c["ae"] for m, c in metric_table.rows({"ae": plain, "vae": {"test_neg_elbo": 25.123}})}
    assert cells["test_neg_elbo"] == "n/a: no posterior density" and cells["test_psnr"] == "14.00"
    assert "test_kl" not in cells  # measured by no run: no row


@pytest.mark.parametrize("name", ["conv-vae", "mlp-ae"])
def test_inference_methods_return_plain_tensors(name):
    from aezoo.api.build import create_model

    model = create_model(name, input_shape=(1, 8, 8), latent_dim=2)
    x = images(4)
    outputs = [model.encode(x), model.decode(torch.zeros(2, 2)), model.reconstruct(x)]
    if name == "conv-vae":
        outputs.append(model.sample(3))
    assert all(not t.requires_grad and t.grad_fn is None for t in outputs)
    outputs[-1].numpy()
