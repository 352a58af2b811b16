"""Figures of several models side by side, drawn so that they can be compared at a glance: latent maps on
shared axes (a code range of -12..10 looks bigger than one of -3..2.5) and images decoded from the same N(0, I)
draws by every model (a VAE's are digits, a plain autoencoder's are noise)."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from aezoo.data import Splits
from aezoo.viz import draw
from aezoo.viz.figure import Figure, figure_function, new_figure, set_title, wrap
from aezoo.viz.labels import run_labels
from aezoo.viz.views import encode_test
from aezoo.viz.words import word

CIRCLE = math.sqrt(-2 * math.log(0.05))  # radius holding 95 % of a 2-D N(0, I): P(|z| <= r) = 1 - exp(-r^2 / 2)
NOT_TRAINED_FOR_IT = "decoded from N(0, I): this model was never trained to make these meaningful"


def _per_model(splits: Splits | Sequence[Splits], n: int) -> list[Splits]:
    return list(splits) if isinstance(splits, (list, tuple)) else [splits] * n


def shared_plane(codes: Sequence[np.ndarray], method: str = "auto", seed: int = 0
                 ) -> tuple[list[np.ndarray], tuple[str, str], str]:
    """Every model's codes in one plane with the same units: the codes themselves when all are 2-D (``direct``),
    else their projection onto the top two principal directions of all the codes together (``pca``; each model's
    own directions when the latent sizes differ). Returns (points per model, axis labels, what the plane is)."""
    dims = sorted({c.shape[1] for c in codes})
    if method == "auto":
        method = "direct" if dims == [2] else "pca"
    if method == "direct":
        if dims != [2]:
            raise ValueError(f"shared 'direct' axes need 2-D latents, these have latent sizes {dims}; use 'pca'")
        return list(codes), ("z1", "z2"), "the 2-D codes themselves"
    if method != "pca":
        raise ValueError(f"latent maps on shared axes are 'direct' (2-D codes) or 'pca', not {method!r}: t-SNE and "
                         "UMAP have no units, so their maps cannot share axes")
    codes = [np.column_stack([c, np.zeros(len(c))]) if c.shape[1] == 1 else c for c in codes]
    if len({c.shape[1] for c in codes}) == 1:
        points, share = draw.pca_plane(codes, seed)
        return points, (f"PC 1 ({share[0]:.0%} {word('of_the_variance')}; {word('latent_units')})",
                        f"PC 2 ({share[1]:.0%})"), \
            "PCA fitted on all the runs' codes together (latent units, origin kept)"
    points = [draw.pca_plane([c], seed)[0][0] for c in codes]
    return points, (f"PC 1 ({word('latent_units')})", f"PC 2 ({word('latent_units')})"), \
        "each run's own PCA (latent sizes differ; latent units, origin kept)"


def spread(xy: np.ndarray) -> dict[str, Any]:
    """Where the central 98 % of the points lie (1st to 99th percentile per axis) and ``span``, the side of the
    square of the same area: one number to compare how far two models' codes spread."""
    low, high = np.percentile(xy, 1, axis=0), np.percentile(xy, 99, axis=0)
    return {"x": [float(low[0]), float(high[0])], "y": [float(low[1]), float(high[1])],
            "span": float(np.sqrt(max(high[0] - low[0], 0) * max(high[1] - low[1], 0)))}


@figure_function
def latent_maps(models: Sequence[Any], splits: Splits | Sequence[Splits], method: str = "auto", limit: int = 2000,
                labels: Sequence[str] | None = None, title: str | None = None, seed: int = 0) -> Figure:
    """One latent map per model, all on the same axes (same limits, equal aspect, the 95 % circle of N(0, I)
    dashed): test codes coloured by class, in the plane of ``shared_plane``. ``splits``: one for all models or one
    per model. ``fig.info``: the plane and, per model, the ``spread`` of its points."""
    if not models:
        raise ValueError("give at least one model to map")
    labels = list(labels) if labels is not None else run_labels(models)
    mapped = [encode_test(m, s, limit) for m, s in zip(models, _per_model(splits, len(models)))]
    points, (xlabel, ylabel), plane = shared_plane([np.asarray(c, dtype=np.float64) for c, _ in mapped], method,
                                                   seed)
    everything = np.concatenate([*points, CIRCLE * np.array([[1.0, 1.0], [-1.0, -1.0]])])
    low, high = everything.min(0), everything.max(0)
    margin = 0.05 * (high - low).max()
    side = 3.8  # inches per panel, across
    columns = len(models) if len(models) <= 3 else math.ceil(len(models) / math.ceil(len(models) / 3))
    rows = math.ceil(len(models) / columns)
    tall = side * float(np.clip((high[1] - low[1] + 2 * margin) / (high[0] - low[0] + 2 * margin), 0.5, 1.6))
    fig = new_figure(side * columns + 1.3, (tall + 1.2) * rows + 0.6)
    fig.set_layout_engine("compressed")  # constrained layout that closes the gaps around equal-aspect panels
    fig.crop = True
    grid = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    axes = grid.ravel()[:len(models)]
    for ax in grid.ravel()[len(models):]:
        ax.set_visible(False)
    classes = _per_model(splits, len(models))[0].classes
    from matplotlib.patches import Circle

    for i, (ax, (_, y), xy, label) in enumerate(zip(axes, mapped, points, labels)):
        draw.scatter(ax, xy, None if y is None else np.asarray(y), classes, legend=False)
        ax.add_patch(Circle((0, 0), CIRCLE, fill=False, linestyle="--", color="0.4", label=word("prior_circle")))
        ax.set_title(wrap(label, 0.85 * side, "axes.titlesize"))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel if i % columns == 0 else "")
        ax.set_xlim(low[0] - margin, high[0] + margin)
        ax.set_ylim(low[1] - margin, high[1] + margin)
        ax.set_aspect("equal", adjustable="box")
        ax.tick_params(labelbottom=True, labelleft=True)
    handles, names = axes[-1].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="outside right center", markerscale=3, fontsize="small")
    set_title(fig, title or f"Latent maps on shared axes: {plane}")
    fig.info.update({"plane": plane, "limits": {"x": list(axes[0].get_xlim()), "y": list(axes[0].get_ylim())},
                     "runs": {label: spread(xy) for label, xy in zip(labels, points)}})
    return fig


def standard_normal_note(model: Any) -> tuple[bool | None, str]:
    """Whether decoding N(0, I) draws is what the model was trained for (True), not (False), or impossible (None:
    a quantised code), and the line that says so under its images."""
    from aezoo.core.priors import StandardNormal

    caps = model.capabilities
    if caps.posterior == "quantised":
        return None, "a quantised code: N(0, I) draws are no codes of this model"
    if caps.posterior == "categorical":
        return None, "a categorical (one-hot) code: N(0, I) draws are no codes of this model"
    if caps.conditional:
        return None, "a conditional model: it decodes a draw as a class (zoo generate --label shows them)"
    if caps.sampler != "prior":
        return False, NOT_TRAINED_FOR_IT
    if getattr(model.objective, "beta", None) == 0:
        return False, "decoded from N(0, I): with beta=0 nothing pulled its codes towards N(0, I)"
    if not isinstance(model.prior, StandardNormal):
        return False, f"decoded from N(0, I), which is not its prior ({caps.prior_title})"
    return True, "decoded from N(0, I), its prior: trained to make these meaningful"


def decode_standard_normal(model: Any, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` images decoded from seeded N(0, I) draws (the same draws for every model of the same latent size)."""
    from aezoo.core.evaluator import inference, model_device

    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    with inference(model):
        return model.decode(z.to(model_device(model))).cpu()


@figure_function
def prior_samples(models: Sequence[Any], n: int = 10, seed: int = 0, labels: Sequence[str] | None = None,
                  title: str | None = None) -> Figure:
    """One row per model: images decoded from the same seeded N(0, I) draws, each row saying whether the model
    was trained to make them meaningful (a VAE) or not (a plain autoencoder). Models with a quantised or one-hot
    code are left out (``fig.info["left_out"]`` says why)."""
    labels = list(labels) if labels is not None else run_labels(models)
    rows, notes, left_out = [], {}, {}
    for model, label in zip(models, labels):
        meaningful, note = standard_normal_note(model)
        if meaningful is None:
            left_out[label] = note
            continue
        rows.append((f"{label}\n{note}", decode_standard_normal(model, n, seed)))
        notes[label] = {"trained_for_it": meaningful, "note": note}
    if not rows:
        raise ValueError("none of these models has a continuous latent code to decode N(0, I) draws with")
    fig = draw.rows_figure(rows, title or f"{n} images decoded from the same N(0, I) draws by each model",
                           labels="above")
    fig.info.update({"runs": notes, "left_out": left_out, "seed": seed})
    return fig
