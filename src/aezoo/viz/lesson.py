"""Figures only `zoo lesson` draws: curves of a measure against a setting (reconstruction error against latent size
for several methods; KL, reconstruction and active units against beta, collapsed runs marked). Every word on them
comes from the caller, so the page's language is the figures' language."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from aezoo.viz.draw import _figure, _save

MARKERS = ("o", "s", "^", "D", "v")


def curves_by_setting_figure(xs: Sequence[float], curves: Mapping[str, Sequence[float]], path: Path | str, *,
                             title: str, xlabel: str, ylabel: str, log_x: bool = True) -> Path:
    """One line per method: ``curves[label][i]`` measured at setting ``xs[i]``; every value written beside its
    point."""
    fig = _figure(7.5, 4.6)
    ax = fig.add_subplot()
    for i, (label, ys) in enumerate(curves.items()):
        ax.plot(xs, ys, marker=MARKERS[i % len(MARKERS)], label=label, linewidth=2)
        for x, y in zip(xs, ys):
            ax.annotate(f"{y:.3g}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    if log_x:
        ax.set_xscale("log", base=2)
    ax.set_xticks(list(xs), [f"{x:g}" for x in xs])
    ax.set_xlabel(xlabel, fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10)
    ax.set_title(title, fontsize=12)
    fig.tight_layout()
    return _save(fig, path)


def sweep_figure(xs: Sequence[float], panels: Sequence[tuple[str, Sequence[float]]], marked: Sequence[bool],
                 path: Path | str, *, title: str, xlabel: str, marked_label: str) -> Path:
    """Small panels side by side, one measure each, against the same setting ``xs`` (evenly spaced, labelled by
    value); points where ``marked`` is true (e.g. a collapsed posterior) drawn as red crosses and named in the
    legend."""
    fig = _figure(4.0 * len(panels), 3.9)
    positions = list(range(len(xs)))
    for i, (name, ys) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.plot(positions, ys, marker="o", linewidth=2, color="#1f77b4")
        bad = [p for p, m in zip(positions, marked) if m]
        if bad:
            ax.scatter(bad, [ys[p] for p in bad], marker="X", s=160, color="#d62728", zorder=3, label=marked_label)
            ax.legend(fontsize=9)
        for p, y in zip(positions, ys):
            ax.annotate(f"{y:.3g}", (p, y), textcoords="offset points", xytext=(6, 5), fontsize=9)
        ax.set_xticks(positions, [f"{x:g}" for x in xs])
        ax.set_xlabel(xlabel, fontsize=11)
        ax.set_title(name, fontsize=11)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return _save(fig, path)
