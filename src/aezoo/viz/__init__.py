"""Figures from models and data, as matplotlib Figures that show inline in Jupyter (``fig.save(path, dpi=...)``
writes the PNG the ``zoo`` commands write):

    fig = aezoo.viz.latent_maps([ae, vae], splits)   # latent maps on shared axes
    fig = aezoo.viz.prior_samples([ae, vae])         # N(0, I) draws decoded by each model
    with aezoo.viz.style("talk"):                    # every font and line 1.5x, for a lecture hall
        fig = aezoo.viz.reconstruction(vae, splits)

One function per ``zoo`` figure command lives in ``views``, several models side by side in ``side_by_side``,
the drawing from arrays in ``draw``. Loaded lazily: importing ``aezoo.viz`` imports no torch.
"""
from __future__ import annotations

from typing import Any

_PUBLIC = {  # name -> module under aezoo.viz
    "reconstruction": "views", "latent": "views", "latent_grid": "views", "samples": "views",
    "samples_like": "views", "class_samples": "views", "interpolation": "views", "restoration": "views",
    "traversal": "views", "latent_maps": "side_by_side", "prior_samples": "side_by_side", "style": "styles",
    "Figure": "figure", "run_label": "labels", "run_labels": "labels",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    import importlib

    if name in _PUBLIC:
        return getattr(importlib.import_module(f"aezoo.viz.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'aezoo.viz' has no attribute {name!r}")
