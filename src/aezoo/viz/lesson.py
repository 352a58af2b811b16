"""Figures only `zoo lesson` draws: curves of a measure against a setting (reconstruction error against latent size
for several methods; KL, reconstruction and active units against beta, collapsed runs marked). Every word on them
comes from the caller, so the page's language is the figures' language."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

from aezoo.viz.figure import Figure, figure_function, new_figure, set_title

MARKERS = ("o", "s", "^", "D", "v")
Number = Callable[[float], str]  # how a value is written beside its point (the page's decimal separator)


def _short(value: float) -> str:
    return f"{value:.3g}"


@figure_function
def curves_by_setting_figure(xs: Sequence[float], curves: Mapping[str, Sequence[float]], *, title: str, xlabel: str,
                             ylabel: str, log_x: bool = True, number: Number | None = None) -> Figure:
    """One line per method: ``curves[label][i]`` measured at setting ``xs[i]`` (``number``: each value written
    beside its point, for a few far-apart lines; None leaves the values to a table)."""
    fig = new_figure(7.5, 4.8)
    ax = fig.add_subplot()
    for i, (label, ys) in enumerate(curves.items()):
        ax.plot(xs, ys, marker=MARKERS[i % len(MARKERS)], label=label)
        for x, y in zip(xs, ys if number is not None else ()):
            ax.annotate(number(y), (x, y), textcoords="offset points", xytext=(5, 4), fontsize="x-small")
    if log_x:
        ax.set_xscale("log", base=2)
    ax.set_xticks(list(xs), [f"{x:g}" for x in xs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    set_title(fig, title)
    return fig


@figure_function
def sweep_figure(xs: Sequence[float], panels: Sequence[tuple[str, Sequence[float]]], marked: Sequence[bool], *,
                 title: str, xlabel: str, marked_label: str, number: Number = _short) -> Figure:
    """Small panels side by side, one measure each, against the same setting ``xs`` (evenly spaced, labelled by
    value); points where ``marked`` is true (e.g. a collapsed posterior) drawn as red crosses and named in the
    legend."""
    fig = new_figure(4.0 * len(panels), 4.2)
    positions = list(range(len(xs)))
    for i, (name, ys) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.plot(positions, ys, marker="o", color="#1f77b4")
        bad = [p for p, m in zip(positions, marked) if m]
        if bad:
            ax.scatter(bad, [ys[p] for p in bad], marker="X", s=160, color="#d62728", zorder=3, label=marked_label)
            if i == 0:
                ax.legend(fontsize="small")
        for p, y in zip(positions, ys):
            ax.annotate(number(y), (p, y), textcoords="offset points", xytext=(6, 5), fontsize="small")
        ax.set_xticks(positions, [f"{x:g}" for x in xs])
        ax.set_xlabel(xlabel)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.margins(x=0.15, y=0.15)
    set_title(fig, title)
    return fig
