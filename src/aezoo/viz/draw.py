"""The classic VAE tutorial's figures drawn from arrays. Each function returns an ``aezoo.viz.figure.Figure``
(a matplotlib Figure: ``fig.save(path, dpi=...)`` writes the PNG, Jupyter shows it inline).

Images are (N, C, H, W) floats in [0, 1] with C = 1 or 3. Font and line sizes come from the current style
(``aezoo.viz.styles``), never from per-figure font options.
"""
from __future__ import annotations

from statistics import NormalDist
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from aezoo.viz.figure import Figure, figure_function, new_figure, set_title, wrap
from aezoo.viz.styles import marker_area
from aezoo.viz.words import word

TSNE_MAX_POINTS = 2000
MASK_COLOUR = (1.0, 0.35, 0.0)  # masked (dropped) pixels: orange, unlike any grey and visible on black and white
TSNE_CAVEAT = ("Caveat: t-SNE keeps neighbourhoods, not distances or cluster sizes, and can show clusters in "
               "unclustered data; compare with PCA (method 'pca').")
UMAP_CAVEAT = ("Caveat: UMAP keeps neighbourhoods, not distances or cluster sizes, and can show clusters in "
               "unclustered data; compare with PCA (method 'pca').")
METHODS = ("auto", "direct", "pca", "tsne", "umap")


def _numpy_images(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, C, H, W) in [0, 1] as a float numpy array; a single (C, H, W) image becomes a batch of one."""
    a = images.detach().cpu().float().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, float)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, C, H, W) with C = 1 or 3, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{int((~np.isfinite(a)).sum()):,} pixel values are not numbers (NaN or infinite): the "
                         "model's decoder gives non-finite values in eval mode; nothing was drawn")
    return np.clip(a, 0, 1)


def _numpy(values: Any) -> np.ndarray:
    return np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values)


def tile(images: torch.Tensor | np.ndarray, nrow: int, pad: int = 1) -> np.ndarray:
    """One (H', W') grey or (H', W', 3) colour array of images laid out ``nrow`` per row, ``pad`` white pixels
    around and between them."""
    a = _numpy_images(images)
    n, c, h, w = a.shape
    nrow = max(1, min(int(nrow), n))
    rows = -(-n // nrow)
    canvas = np.ones((c, rows * (h + pad) + pad, nrow * (w + pad) + pad))
    for i in range(n):
        r, col = divmod(i, nrow)
        canvas[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + col * (w + pad): pad + col * (w + pad) + w] = a[i]
    return canvas[0] if c == 1 else canvas.transpose(1, 2, 0)


def _show(ax, array: np.ndarray, title: str | None = None) -> None:
    ax.imshow(array, cmap="gray" if array.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)


@figure_function
def image_grid(images: torch.Tensor | np.ndarray, nrow: int = 8, title: str | None = None) -> Figure:
    """A grid of images, ``nrow`` per row."""
    grid = tile(images, nrow)
    scale = 6 / max(grid.shape[:2])
    fig = new_figure(max(3.0, grid.shape[1] * scale), max(2.0, grid.shape[0] * scale + (0.6 if title else 0)))
    _show(fig.add_subplot(), grid)
    set_title(fig, title)
    return fig


Row = tuple  # (label, images) or (label, images, captions): one caption per image, shown under it


@figure_function
def rows_figure(rows: Sequence[Row], title: str | None = None, labels: str = "left") -> Figure:
    """Rows of images, each row's label on its left (``labels="left"``) or above it (``"above"``, for long labels);
    a row given as ``(label, images, captions)`` shows each caption (e.g. the image's class) under its image."""
    n = max(len(_numpy_images(row[1])) for row in rows)
    captioned = any(len(row) > 2 and row[2] for row in rows)
    above = labels == "above"
    row_height = 0.8 + (0.3 if captioned else 0) + (0.35 if above else 0)
    width = max(3.0, 0.7 * n + (0.5 if above else 1.5))
    fig = new_figure(width, row_height * len(rows) + (0.6 if title else 0.2))
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, row in zip(axes, rows):
        label, images = row[0], row[1]
        _show(ax, tile(images, n))
        captions = list(row[2]) if len(row) > 2 and row[2] else []
        if captions:
            side = _numpy_images(images).shape[3]
            ax.set_xticks([1 + k * (side + 1) + side / 2 - 0.5 for k in range(len(captions))],
                          [str(c) for c in captions], fontsize="small")
            ax.tick_params(axis="x", length=0, pad=2)
        if above:
            ax.set_title(wrap(label, width, "axes.labelsize"), loc="left", fontsize="medium")
        else:
            ax.set_ylabel(label, rotation=0, ha="right", va="center")
    set_title(fig, title)
    return fig


@figure_function
def reconstruction_figure(originals: torch.Tensor, reconstructions: torch.Tensor,
                          title: str | None = "Reconstructions", captions: Sequence[str] | None = None) -> Figure:
    """Originals in the top row (``captions`` under them, e.g. their classes), their reconstructions below."""
    return rows_figure([(word("original"), originals, captions), (word("reconstruction"), reconstructions)], title)


def pca_plane(codes: Sequence[np.ndarray], seed: int = 0) -> tuple[list[np.ndarray], list[float]]:
    """Each array of codes projected onto the top two principal directions of all of them together, without
    centring (so the origin z = 0 stays at 0 and distances along the directions stay in latent units); and the
    fraction of the codes' variance each direction carries."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=seed).fit(np.concatenate(codes))
    return [c @ pca.components_.T for c in codes], [float(v) for v in pca.explained_variance_ratio_]


def project(codes: np.ndarray, method: str = "auto", seed: int = 0,
            what: str = "codes") -> tuple[np.ndarray, tuple[str, str], str]:
    """Codes (N, D) as points in a plane: (xy, axis labels, what the plane is). ``auto``: the codes themselves
    for a 2-D latent, else t-SNE; ``direct`` (2-D only), ``pca``, ``tsne`` or ``umap`` (needs umap-learn).
    ``what`` names the codes (the posterior kind's, aezoo.core.posteriors.KINDS: "posterior means", ...)."""
    d = codes.shape[1]
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise ValueError("method 'umap' needs the umap-learn package, which is not installed: "
                             "pip install umap-learn (or use method 'pca' or 'tsne')") from None
    if method == "auto":
        method = "direct" if d == 2 else "tsne"
    if method == "direct":
        if d != 2:
            raise ValueError(f"method 'direct' needs a 2-D latent, got latent_dim {d}; use 'tsne' or 'pca'")
        return codes, ("z1", "z2"), f"the 2-D {what} themselves"
    if d < 2:
        return np.column_stack([codes[:, 0], np.zeros(len(codes))]), ("z1", ""), f"the 1-D {what}"
    if method == "pca":
        (xy,), share = pca_plane([codes], seed)
        units, variance = word("latent_units"), word("of_the_variance")
        return xy, (f"PC 1 ({share[0]:.0%} {variance}; {units})", f"PC 2 ({share[1]:.0%}; {units})"), \
            f"PCA of the {d}-D {what}"
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (len(codes) - 1) // 3)))
        xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(codes)
        return xy, (f"t-SNE 1 ({word('no_units')})", f"t-SNE 2 ({word('no_units')})"), f"t-SNE of the {d}-D {what}"
    xy = umap.UMAP(n_components=2, random_state=seed).fit_transform(codes)
    return xy, (f"UMAP 1 ({word('no_units')})", f"UMAP 2 ({word('no_units')})"), f"UMAP of the {d}-D {what}"


def scatter(ax, xy: np.ndarray, labels: np.ndarray | None, class_names: Sequence[str] | None = None,
            legend: bool = True) -> None:
    """Points coloured by label (one colour per class up to 20 classes, else a colour scale)."""
    size = marker_area()
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, alpha=0.7)
        return
    values = np.unique(labels)
    if len(values) > 20:
        points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, s=size, cmap="viridis")
        ax.figure.colorbar(points, ax=ax, label="label")
        return
    cmap = _colormap("tab10" if len(values) <= 10 else "tab20")
    for i, value in enumerate(values):
        pick = labels == value
        name = class_names[int(value)] if class_names is not None and 0 <= int(value) < len(class_names) \
            else str(value)
        ax.scatter(xy[pick, 0], xy[pick, 1], s=size, alpha=0.7, color=cmap(i), label=name)
    if legend:
        ax.legend(markerscale=3, loc="best", fontsize="small")


def caveat(fig: Figure, method: str, text: str | None = None) -> None:
    """The caveat of a neighbour-embedding map (t-SNE, UMAP) under the figure (``text``: in other words, e.g. in
    the page's language)."""
    known = {"t-SNE": TSNE_CAVEAT, "UMAP": UMAP_CAVEAT}
    if method in known:
        text = text or known[method]
        fig.supxlabel(wrap(text, fig.get_figwidth(), "font.size"), fontsize="small", style="italic")
        fig.info["caveat"] = text


@figure_function
def latent_figure(codes: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray | None, method: str = "auto",
                  seed: int = 0, class_names: Sequence[str] | None = None, title: str | None = None,
                  what: str = "codes") -> Figure:
    """Scatter of latent codes coloured by label: the codes themselves for a 2-D latent ('direct'), else a
    t-SNE (at most TSNE_MAX_POINTS seeded points), PCA or UMAP map, with axis labels saying which; t-SNE and
    UMAP maps carry their caveat. ``what`` names the codes (the posterior kind's: "posterior means", ...)."""
    codes = np.asarray(_numpy(codes), dtype=np.float64)
    labels = None if labels is None else _numpy(labels)
    if codes.ndim != 2 or len(codes) == 0:
        raise ValueError(f"codes must be a non-empty (N, latent_dim) array, got shape {codes.shape}")
    if len(codes) > TSNE_MAX_POINTS and (method in ("tsne", "umap") or (method == "auto" and codes.shape[1] != 2)):
        keep = np.sort(np.random.default_rng(seed).choice(len(codes), TSNE_MAX_POINTS, replace=False))
        codes, labels = codes[keep], None if labels is None else labels[keep]
    xy, axis_labels, plane = project(codes, method, seed, what)
    return map_figure(xy, labels, axis_labels, plane, class_names, title)


@figure_function
def map_figure(xy: np.ndarray, labels: torch.Tensor | np.ndarray | None, axis_labels: tuple[str, str], plane: str,
               class_names: Sequence[str] | None = None, title: str | None = None,
               caveat_text: str | None = None) -> Figure:
    """Points already in a plane (``project``'s result: xy, axis labels, what the plane is) as a scatter coloured
    by label; equal aspect where the axes are latent units, the caveat under a t-SNE or UMAP map (in other words
    with ``caveat_text``)."""
    labels = None if labels is None else _numpy(labels)
    fig = new_figure(6.5, 5.5)
    ax = fig.add_subplot()
    scatter(ax, xy, labels, class_names)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    if plane.startswith(("the 2-D", "PCA")):
        ax.set_aspect("equal", adjustable="datalim")
    set_title(fig, title or f"Latent space: {plane}")
    caveat(fig, plane.split(" ", 1)[0], caveat_text)
    fig.info["plane"] = plane
    return fig


def _colormap(name: str):
    from matplotlib import colormaps

    return colormaps[name]


def gaussian_grid(n: int, span: float) -> np.ndarray:
    """``n`` points at evenly spaced Gaussian quantiles between Phi(-span) and Phi(span) (so from -span to
    span, denser near 0), as in the tutorial's ``norm.ppf(linspace(...))`` grid."""
    normal = NormalDist()
    low, high = normal.cdf(-span), normal.cdf(span)
    return np.array([normal.inv_cdf(p) for p in np.linspace(low, high, n)])


def code_range(codes: torch.Tensor | np.ndarray, n: int, coverage: float = 0.98) -> list[np.ndarray]:
    """Per latent dimension, ``n`` evenly spaced values over the central ``coverage`` of the codes (their 1st to
    99th percentile by default): the region the codes occupy, wherever the prior is centred."""
    a = np.asarray(_numpy(codes), dtype=np.float64)
    tail = 100 * (1 - coverage) / 2
    low, high = np.percentile(a, tail, axis=0), np.percentile(a, 100 - tail, axis=0)
    return [np.linspace(lo, hi if hi > lo else lo + 1e-3, n) for lo, hi in zip(low, high)]


def grid_gap(side: int) -> int:
    """White pixels between the tiles of a decoded grid: an eighth of a tile, at least one, so tiles never touch."""
    return max(1, round(side / 8))


@figure_function
def latent_grid_figure(model: Any, n: int = 15, span: float = 3.0, codes: torch.Tensor | None = None,
                       title: str | None = None) -> Figure:
    """The decoded n x n grid over the plane of a 2-D latent, tiles separated by white gaps: over the region
    ``codes`` occupy (1st to 99th percentile per dimension) when they are given, else over N(0, I) quantiles from
    -span to span (models whose prior shapes their codes only)."""
    from aezoo.core.evaluator import inference, model_device

    if model.latent_dim != 2:
        raise ValueError(f"the latent grid needs a 2-D latent, this model has latent_dim {model.latent_dim}")
    if codes is not None:
        xs, ys = code_range(codes, n)
        where = "over the region of the test codes"
    elif model.sampler != "prior":
        raise ValueError("this model's codes are not shaped by its prior: pass codes= to place the grid")
    else:
        xs = ys = gaussian_grid(n, span)
        where = "over N(0, I) quantiles"
    gx, gy = np.meshgrid(xs, ys[::-1])  # y grows upwards
    z = torch.tensor(np.column_stack([gx.ravel(), gy.ravel()]), dtype=torch.float32)
    with inference(model):
        images = model.decode(z.to(model_device(model))).cpu()
    h, w = images.shape[-2:]
    pad = grid_gap(min(h, w))
    grid = tile(images, n, pad=pad)
    fig = new_figure(7, 7.4)
    ax = fig.add_subplot()
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(pad + np.arange(n) * (w + pad) + w / 2 - 0.5, [f"{v:.2g}" for v in xs], fontsize="small",
                  rotation=90)
    ax.set_yticks(pad + np.arange(n) * (h + pad) + h / 2 - 0.5, [f"{v:.2g}" for v in ys[::-1]], fontsize="small")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    set_title(fig, title or f"Decoded latent grid {where}")
    fig.info.update({"grid": n, "gap_pixels": pad, "placed": where})
    return fig


@figure_function
def interpolation_figure(images: torch.Tensor | Sequence[torch.Tensor],
                         title: str | None = "Latent interpolation") -> Figure:
    """One interpolation (steps, C, H, W) per row; pass a list (or a 5-D tensor) for several rows."""
    rows = [images] if isinstance(images, torch.Tensor) and images.dim() == 4 else list(images)
    return rows_figure([(f"{i + 1}" if len(rows) > 1 else "", r) for i, r in enumerate(rows)], title)


def paint_mask(images: torch.Tensor | np.ndarray, mask: torch.Tensor | np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) as colour images with the ``mask``ed pixels ((N, 1, H, W) or (N, H, W), True where
    dropped) in MASK_COLOUR."""
    a = _numpy_images(images)
    rgb = np.repeat(a, 3, axis=1) if a.shape[1] == 1 else a.copy()
    m = _numpy(mask).astype(bool).reshape(len(a), *a.shape[2:])
    for channel, value in enumerate(MASK_COLOUR):
        rgb[:, channel][m] = value
    return rgb


@figure_function
def corruption_figure(corrupted: torch.Tensor, restored: torch.Tensor, clean: torch.Tensor,
                      errors: dict[str, float] | None = None, title: str | None = None,
                      captions: Sequence[str] | None = None, mask: torch.Tensor | None = None) -> Figure:
    """Three labelled rows: corrupted, restored, clean; ``errors`` (e.g. Restoration.errors) in the labels. With a
    ``mask`` (inpainting; True where a pixel was dropped) the dropped pixels are drawn in MASK_COLOUR, with a
    legend, so that they are not mistaken for black background."""
    errors = errors or {}

    def label(name: str, row: str) -> str:
        extra = [f"{k.split('_', 1)[1].upper()} {v:.3g}" for k, v in errors.items() if k.startswith(name + "_")]
        return word(row) + ("\n" + "\n".join(extra) if extra else "")

    shown = corrupted if mask is None else paint_mask(corrupted, mask)
    fig = rows_figure([(label("corrupted", "corrupted" if mask is None else "masked"), shown),
                       (label("restored", "restored"), restored), (word("clean"), clean, captions)], title)
    if mask is not None:
        from matplotlib.patches import Patch

        fig.legend(handles=[Patch(facecolor=MASK_COLOUR, edgecolor="none", label=word("masked_pixels"))],
                   loc="outside lower center", frameon=False)
    return fig


@figure_function
def curves_figure(history: Sequence[dict[str, Any]], title: str | None = "Training curves",
                  diagnostics: Sequence[str] = ()) -> Figure:
    """Train/val loss per epoch; a second panel with the loss parts (train_/val_ keys) when present, and a third
    with the ``diagnostics`` (parts that are measurements, not loss terms, e.g. ``model.objective.diagnostics``),
    so that they never share the loss axis."""
    history = [h for h in history if isinstance(h, dict)]
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    names = sorted({k.split("_", 1)[1] for h in history for k in h
                    if k.startswith(("train_", "val_")) and k not in ("train_loss", "val_loss")
                    and isinstance(h[k], (int, float)) and not isinstance(h[k], bool)})
    panels = [("loss", ["loss"]), ("loss parts", [p for p in names if p not in diagnostics]),
              ("diagnostics", [p for p in names if p in diagnostics])]
    panels = [p for p in panels if p[1]]
    fig = new_figure({1: 6, 2: 10}.get(len(panels), 14), 4)
    for i, (name, parts) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for part in parts:
            for split, style in (("train", "-"), ("val", "--")):
                pts = [(e, h[f"{split}_{part}"]) for e, h in zip(epochs, history)
                       if isinstance(h.get(f"{split}_{part}"), (int, float))]
                if pts:
                    ax.plot(*zip(*pts), style, label=f"{split}_{part}", marker="o" if len(pts) < 40 else None,
                            markersize=3)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("per image" if name != "diagnostics" else "")
        if ax.lines:
            ax.legend(fontsize="small")
    set_title(fig, title)
    return fig


@figure_function
def overlaid_curves_figure(histories: Mapping[str, Sequence[dict[str, Any]]], key: str = "loss",
                           title: str | None = None) -> Figure:
    """One line per run: ``val_<key>`` solid and ``train_<key>`` dotted, in the run's colour."""
    fig = new_figure(8, 4.5)
    ax = fig.add_subplot()
    cmap = _colormap("tab10")
    for i, (run, history) in enumerate(histories.items()):
        for split, style in (("val", "-"), ("train", ":")):
            pts = [(h.get("epoch", j + 1), h[f"{split}_{key}"]) for j, h in enumerate(history)
                   if isinstance(h, dict) and isinstance(h.get(f"{split}_{key}"), (int, float))]
            if pts:
                ax.plot(*zip(*pts), style, color=cmap(i % 10), label=f"{run} ({split})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{key} per image")
    if ax.lines:
        ax.legend(fontsize="small")
    set_title(fig, title or f"Training curves: {key} (each model's own objective)")
    return fig
