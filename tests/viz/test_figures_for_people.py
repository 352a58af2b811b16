"""Figures people read in a lecture hall or a notebook: one style switch scales every font, --dpi sets the pixels,
grid tiles never touch, masked pixels are visible, latent maps say what their axes are, t-SNE carries its caveat,
and figures are matplotlib Figures made without pyplot."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure as MatplotlibFigure

from aezoo.core.sampling import inpaint
from aezoo.viz import draw
from aezoo.viz.styles import style


def images(n: int = 8, side: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(seed))


def text_sizes(fig) -> list[tuple[str, float]]:
    return [(t.get_text(), t.get_fontsize()) for t in fig.all_texts()]


def labelled_codes(dim: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.arange(120) % 4
    return torch.randn(120, dim, generator=torch.Generator().manual_seed(0)) + labels[:, None].float(), labels


@pytest.mark.parametrize("make", [
    lambda: draw.latent_figure(*labelled_codes(), title="a map"),
    lambda: draw.rows_figure([("original", images(), list("01234567")), ("reconstruction", images(seed=1))], "rows"),
    lambda: draw.curves_figure([{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e} for e in (1, 2, 3)]),
], ids=["latent", "rows", "curves"])
def test_talk_style_scales_every_text_by_one_and_a_half(make):
    normal = text_sizes(make())
    with style("talk"):
        talk = make()
    sizes = text_sizes(talk)
    assert [t for t, _ in sizes] == [t for t, _ in normal] and len(sizes) >= 5
    assert all(big == pytest.approx(1.5 * small) for (_, big), (_, small) in zip(sizes, normal)), (sizes, normal)
    with style("paper"):
        assert all(s < n for (_, s), (_, n) in zip(text_sizes(make()), normal))


def test_the_style_stays_with_the_figure_when_it_is_saved_outside_the_block(tmp_path):
    x, mask = images(4), images(4, seed=1) > 0.5
    with style("poster"):
        fig = draw.latent_figure(*labelled_codes())
        masked = draw.corruption_figure(x, x, x, mask=mask, title="masked")
        masked.savefig(tmp_path / "inside.png", dpi=100)  # plain matplotlib, inside the style
        fig.savefig(tmp_path / "map-inside.png", dpi=100)
    before = text_sizes(fig)
    assert fig.save(tmp_path / "map.png").read_bytes() == (tmp_path / "map-inside.png").read_bytes()  # same ticks
    assert text_sizes(fig) == before and fig.style == "poster"
    assert masked.save(tmp_path / "outside.png").read_bytes() == (tmp_path / "inside.png").read_bytes()
    assert masked.png() == masked.png() == masked._repr_png_()  # shown inline, then saved: the same picture
    import matplotlib

    assert matplotlib.rcParams["font.size"] == 10  # matplotlib's own default: no global state was changed


def test_an_unknown_style_names_the_styles():
    with pytest.raises(ValueError, match="paper, notebook, talk, poster"):
        with style("lecture"):
            pass


def test_dpi_sets_the_png_pixel_size(tmp_path):
    from matplotlib.image import imread

    fig = draw.image_grid(images(16), nrow=4, title="grid")
    small = imread(fig.save(tmp_path / "a.png", dpi=50)).shape
    large = imread(fig.save(tmp_path / "b.png", dpi=200)).shape
    assert large[0] == pytest.approx(4 * small[0], abs=4) and large[1] == pytest.approx(4 * small[1], abs=4)


def test_figures_are_matplotlib_figures_that_show_inline():
    fig = draw.image_grid(images(4), nrow=2)
    assert isinstance(fig, MatplotlibFigure)
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n" and fig._repr_png_() == fig.png()


def test_figure_functions_leave_pyplot_alone():
    code = ("import sys, torch; from aezoo.viz import draw; draw.image_grid(torch.rand(4, 1, 8, 8)).png(); "
            "draw.latent_figure(torch.randn(30, 2), None).png(); assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def tile_pixels(fig) -> np.ndarray:
    return np.asarray(fig.axes[0].images[0].get_array())


def test_latent_grid_tiles_are_separated_by_white_gaps(vae2):
    fig = draw.latent_grid_figure(vae2, n=4)
    grid, gap = tile_pixels(fig), fig.info["gap_pixels"]
    side = 8
    assert gap >= 1 and grid.shape == (4 * (side + gap) + gap,) * 2
    for k in range(5):  # every row and column between (and around) the tiles is background white
        line = slice(k * (side + gap), k * (side + gap) + gap)
        assert (grid[line, :] == 1).all() and (grid[:, line] == 1).all()
    assert (grid[gap:gap + side, gap:gap + side] < 1).any()  # the tiles themselves are decoded images


@pytest.fixture(scope="module")
def vae2():
    from aezoo.api.build import create_model

    torch.manual_seed(0)
    return create_model("conv-vae", input_shape=(1, 8, 8), latent_dim=2)


def test_masked_pixels_are_drawn_in_the_mask_colour_with_a_legend(vae2):
    clean = images(6)
    result = inpaint(vae2, clean, kind="pixels", level=0.5, seed=0)
    assert result.mask is not None and result.mask.any() and torch.equal(result.corrupted, clean * ~result.mask)
    fig = draw.corruption_figure(result.corrupted, result.restored, clean, mask=result.mask)
    shown = tile_pixels(fig)  # the masked row, in colour
    assert shown.ndim == 3
    pad, side = 1, 8
    for i in range(len(clean)):
        tile = shown[pad:pad + side, pad + i * (side + pad): pad + i * (side + pad) + side]
        dropped = result.mask[i, 0].numpy()
        assert np.allclose(tile[dropped], draw.MASK_COLOUR)
        kept = tile[~dropped]
        assert np.allclose(kept[:, 0], kept[:, 1]) and np.allclose(kept[:, 0], result.corrupted[i, 0].numpy()[~dropped])
    legend = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert any("masked" in t for t in legend)


def test_block_masks_come_back_with_the_restoration(vae2):
    result = inpaint(vae2, images(4), kind="block", level=0.5, seed=1)
    assert result.mask.shape == (4, 1, 8, 8) and (result.mask.sum((1, 2, 3)) == 16).all()


@pytest.mark.parametrize("method, x, y", [("direct", "z1", "z2"), ("pca", "PC 1", "PC 2"),
                                          ("tsne", "t-SNE 1", "t-SNE 2")])
def test_latent_maps_label_their_axes(method, x, y):
    codes, labels = labelled_codes(2 if method == "direct" else 5)
    ax = draw.latent_figure(codes, labels, method=method).axes[0]
    assert ax.get_xlabel().startswith(x) and ax.get_ylabel().startswith(y)


def test_tsne_maps_carry_the_caveat_and_pca_maps_do_not():
    codes, labels = labelled_codes(5)
    tsne = draw.latent_figure(codes, labels, method="tsne")
    words = " ".join(t.get_text() for t in tsne.all_texts()).replace("\n", " ")
    assert "clusters in unclustered data" in words and "compare with PCA" in words
    assert "caveat" not in draw.latent_figure(codes, labels, method="pca").info


def test_umap_without_umap_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # as if umap-learn were not installed
    with pytest.raises(ValueError, match="pip install umap-learn"):
        draw.latent_figure(*labelled_codes(5), method="umap")


def test_a_title_set_by_an_outer_figure_function_gets_room_above_the_plot(vae2, digits):
    from aezoo.viz import views

    long = "A long title for the lecture hall, " * 4
    with style("talk"):
        fig = views.latent(vae2, digits, limit=100, title=long)  # latent_figure inside, the title set after it
    renderer = fig.canvas.get_renderer()
    title, plot = fig.get_suptitle(), fig.axes[0].get_window_extent(renderer)
    assert title.count("\n") >= 2
    assert fig._suptitle.get_window_extent(renderer).y0 >= plot.y1  # above the plot, not over it
