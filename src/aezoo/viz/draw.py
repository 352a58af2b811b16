"""PNG figures of the classic VAE tutorial. Each function writes one PNG and returns its path.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, so no global backend or state is touched);
matplotlib is imported inside the functions. Images are (N, C, H, W) floats in [0, 1] with C = 1 or 3.
"""
from __future__ import annotations

from pathlib import Path
from statistics import NormalDist
from typing import Any, Mapping, Sequence

import numpy as np
import torch

TSNE_MAX_POINTS = 2000


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path | str) -> Path:
    """Write the PNG beside ``path`` and rename it into place: a failure (a full disk) keeps the old file."""
    from aezoo.registry.files import replacing

    with replacing(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def _numpy_images(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, C, H, W) in [0, 1] as a float numpy array; a single (C, H, W) image becomes a batch of one."""
    a = images.detach().cpu().float().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, float)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, C, H, W) with C = 1 or 3, got shape {a.shape}")
    return np.clip(a, 0, 1)


def tile(images: torch.Tensor | np.ndarray, nrow: int, pad: int = 1) -> np.ndarray:
    """One (H', W') grey or (H', W', 3) colour array of images laid out ``nrow`` per row, padded with white."""
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
    if title:
        ax.set_title(title, fontsize=10)


def image_grid(images: torch.Tensor | np.ndarray, path: Path | str, nrow: int = 8, title: str | None = None) -> Path:
    """A grid of images, ``nrow`` per row."""
    grid = tile(images, nrow)
    scale = 6 / max(grid.shape[:2])
    fig = _figure(max(2.0, grid.shape[1] * scale), max(2.0, grid.shape[0] * scale + (0.4 if title else 0)))
    _show(fig.add_subplot(), grid, title)
    fig.tight_layout()
    return _save(fig, path)


Row = tuple  # (label, images) or (label, images, captions): one caption per image, shown under it


def rows_figure(rows: Sequence[Row], path: Path | str, title: str | None = None) -> Path:
    """Rows of images with a label on the left of each row (the shared layout of several figures); a row given
    as ``(label, images, captions)`` shows each caption (e.g. the image's class) under its image."""
    n = max(len(_numpy_images(row[1])) for row in rows)
    captioned = any(len(row) > 2 and row[2] for row in rows)
    row_height = 0.9 + (0.3 if captioned else 0)
    fig = _figure(max(3.0, 0.7 * n + 1.5), row_height * len(rows) + (0.5 if title else 0.2))
    for i, row in enumerate(rows):
        label, images = row[0], row[1]
        ax = fig.add_subplot(len(rows), 1, i + 1)
        array = tile(images, n)
        _show(ax, array)
        captions = list(row[2]) if len(row) > 2 and row[2] else []
        if captions:
            side = _numpy_images(images).shape[3]
            ax.set_xticks([1 + k * (side + 1) + side / 2 - 0.5 for k in range(len(captions))],
                          [str(c) for c in captions], fontsize=7)
            ax.tick_params(axis="x", length=0, pad=2)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def reconstruction_figure(originals: torch.Tensor, reconstructions: torch.Tensor, path: Path | str,
                          title: str | None = "Reconstructions", captions: Sequence[str] | None = None) -> Path:
    """Originals in the top row (``captions`` under them, e.g. their classes), their reconstructions below."""
    return rows_figure([("original", originals, captions), ("reconstruction", reconstructions)], path, title)


def _project(codes: np.ndarray, method: str, seed: int) -> tuple[np.ndarray, str]:
    d = codes.shape[1]
    if method == "auto":
        method = "direct" if d == 2 else "tsne"
    if method == "direct":
        if d != 2:
            raise ValueError(f"method 'direct' needs a 2-D latent, got latent_dim {d}; use 'tsne' or 'pca'")
        return codes, "z[0] vs z[1]"
    if d < 2:
        return np.column_stack([codes[:, 0], np.zeros(len(codes))]), "z[0]"
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(codes), "PCA of the latent means"
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (len(codes) - 1) // 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(codes), \
            "t-SNE of the latent means"
    raise ValueError(f"unknown method {method!r}; expected 'auto', 'direct', 'tsne' or 'pca'")


def latent_figure(codes: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray | None, path: Path | str,
                  method: str = "auto", seed: int = 0, class_names: Sequence[str] | None = None) -> Path:
    """Scatter of latent codes coloured by label: the codes themselves for a 2-D latent ('direct'), else a
    t-SNE (at most TSNE_MAX_POINTS seeded points) or PCA projection."""
    codes = np.asarray(codes.detach().cpu() if isinstance(codes, torch.Tensor) else codes, dtype=np.float64)
    labels = None if labels is None else np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    if codes.ndim != 2 or len(codes) == 0:
        raise ValueError(f"codes must be a non-empty (N, latent_dim) array, got shape {codes.shape}")
    if len(codes) > TSNE_MAX_POINTS and (method == "tsne" or (method == "auto" and codes.shape[1] != 2)):
        keep = np.sort(np.random.default_rng(seed).choice(len(codes), TSNE_MAX_POINTS, replace=False))
        codes, labels = codes[keep], None if labels is None else labels[keep]
    xy, subtitle = _project(codes, method, seed)
    fig = _figure(6.5, 5.5)
    ax = fig.add_subplot()
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=4, alpha=0.7)
    else:
        values = np.unique(labels)
        if len(values) <= 20:
            cmap = _colormap("tab10" if len(values) <= 10 else "tab20")
            for i, value in enumerate(values):
                pick = labels == value
                name = class_names[int(value)] if class_names is not None and 0 <= int(value) < len(class_names) \
                    else str(value)
                ax.scatter(xy[pick, 0], xy[pick, 1], s=4, alpha=0.7, color=cmap(i), label=name)
            ax.legend(markerscale=3, fontsize=8, loc="best")
        else:
            points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, s=4, cmap="viridis")
            fig.colorbar(points, ax=ax, label="label")
    ax.set_title(f"Latent space ({subtitle})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


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
    a = np.asarray(codes.detach().cpu() if isinstance(codes, torch.Tensor) else codes, dtype=np.float64)
    tail = 100 * (1 - coverage) / 2
    low, high = np.percentile(a, tail, axis=0), np.percentile(a, 100 - tail, axis=0)
    return [np.linspace(lo, hi if hi > lo else lo + 1e-3, n) for lo, hi in zip(low, high)]


def latent_grid_figure(model: Any, path: Path | str, n: int = 15, span: float = 3.0,
                       codes: torch.Tensor | None = None) -> Path:
    """The decoded n x n grid over the plane of a 2-D latent: over the region ``codes`` occupy (1st to 99th
    percentile per dimension) when they are given, else over N(0, I) quantiles from -span to span (models whose
    prior shapes their codes only)."""
    from aezoo.core.evaluator import inference, model_device

    if model.latent_dim != 2:
        raise ValueError(f"the latent grid needs a 2-D latent, this model has latent_dim {model.latent_dim}")
    if codes is not None:
        xs, ys = code_range(codes, n)
        subtitle = " over the region of the test codes"
    elif model.sampler != "prior":
        raise ValueError("this model's codes are not shaped by its prior: pass codes= to place the grid")
    else:
        xs = ys = gaussian_grid(n, span)
        subtitle = " over N(0, I) quantiles"
    gx, gy = np.meshgrid(xs, ys[::-1])  # y grows upwards
    z = torch.tensor(np.column_stack([gx.ravel(), gy.ravel()]), dtype=torch.float32)
    with inference(model):
        images = model.decode(z.to(model_device(model))).cpu()
    grid = tile(images, n, pad=0)
    fig = _figure(7, 7)
    ax = fig.add_subplot()
    h, w = grid.shape[:2]
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks((np.arange(n) + 0.5) * w / n, [f"{v:.2g}" for v in xs], fontsize=7, rotation=90)
    ax.set_yticks((np.arange(n) + 0.5) * h / n, [f"{v:.2g}" for v in ys[::-1]], fontsize=7)
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title("Decoded latent grid" + subtitle, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def interpolation_figure(images: torch.Tensor | Sequence[torch.Tensor], path: Path | str,
                         title: str | None = "Latent interpolation") -> Path:
    """One interpolation (steps, C, H, W) per row; pass a list (or a 5-D tensor) for several rows."""
    rows = [images] if isinstance(images, torch.Tensor) and images.dim() == 4 else list(images)
    return rows_figure([(f"{i + 1}" if len(rows) > 1 else "", r) for i, r in enumerate(rows)], path, title)


def corruption_figure(corrupted: torch.Tensor, restored: torch.Tensor, clean: torch.Tensor, path: Path | str,
                      errors: dict[str, float] | None = None, title: str | None = None,
                      captions: Sequence[str] | None = None) -> Path:
    """Three labelled rows: corrupted, restored, clean; ``errors`` (e.g. Restoration.errors) in the labels."""
    errors = errors or {}

    def label(name: str) -> str:
        extra = [f"{k.split('_', 1)[1]} {v:.3g}" for k, v in errors.items() if k.startswith(name + "_")]
        return name + ("\n" + "\n".join(extra) if extra else "")

    return rows_figure([(label("corrupted"), corrupted), (label("restored"), restored), ("clean", clean, captions)],
                       path, title)


def curves_figure(history: Sequence[dict[str, Any]], path: Path | str, title: str | None = "Training curves",
                  diagnostics: Sequence[str] = ()) -> Path:
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
    fig = _figure({1: 6, 2: 10}.get(len(panels), 14), 4)
    for i, (name, parts) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for part in parts:
            for split, style in (("train", "-"), ("val", "--")):
                pts = [(e, h[f"{split}_{part}"]) for e, h in zip(epochs, history)
                       if isinstance(h.get(f"{split}_{part}"), (int, float))]
                if pts:
                    ax.plot(*zip(*pts), style, label=f"{split}_{part}", marker="o" if len(pts) < 40 else None,
                            markersize=3)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        if ax.lines:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def overlaid_curves_figure(histories: Mapping[str, Sequence[dict[str, Any]]], path: Path | str,
                           key: str = "loss", title: str | None = None) -> Path:
    """One line per run: ``val_<key>`` solid and ``train_<key>`` dotted, in the run's colour."""
    fig = _figure(8, 4.5)
    ax = fig.add_subplot()
    cmap = _colormap("tab10")
    for i, (run, history) in enumerate(histories.items()):
        for split, style in (("val", "-"), ("train", ":")):
            pts = [(h.get("epoch", j + 1), h[f"{split}_{key}"]) for j, h in enumerate(history)
                   if isinstance(h, dict) and isinstance(h.get(f"{split}_{key}"), (int, float))]
            if pts:
                ax.plot(*zip(*pts), style, color=cmap(i % 10), label=f"{run} ({split})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{key} (each model's own objective)")
    if ax.lines:
        ax.legend(fontsize=8)
    ax.set_title(title or f"Training curves: {key}", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
