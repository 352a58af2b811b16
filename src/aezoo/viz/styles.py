"""One switch for the size of every font and line in aezoo's figures, after seaborn's plotting contexts:
``paper`` (0.8x), ``notebook`` (the default), ``talk`` (1.5x, for a lecture hall) and ``poster`` (2x).

``with style("talk"): fig = ...`` draws every figure made in the block with the talk sizes; the sizes live in a
matplotlib ``rc_context`` around the drawing only, so matplotlib's global settings are never changed.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

SCALES = {"paper": 0.8, "notebook": 1.0, "talk": 1.5, "poster": 2.0}
DEFAULT = "notebook"

# seaborn's "notebook" context (seaborn/rcmod.py, plotting_context): font sizes in points, line widths and tick
# sizes; every style multiplies all of them by its scale.
_TEXT = {"font.size": 12, "axes.labelsize": 12, "axes.titlesize": 12, "xtick.labelsize": 11, "ytick.labelsize": 11,
         "legend.fontsize": 11, "legend.title_fontsize": 12, "figure.titlesize": 13}
_LINES = {"axes.linewidth": 1.25, "grid.linewidth": 1, "lines.linewidth": 1.5, "lines.markersize": 6,
          "patch.linewidth": 1, "xtick.major.width": 1.25, "ytick.major.width": 1.25, "xtick.minor.width": 1,
          "ytick.minor.width": 1, "xtick.major.size": 6, "ytick.major.size": 6, "xtick.minor.size": 4,
          "ytick.minor.size": 4}

_current: ContextVar[str] = ContextVar("aezoo_figure_style", default=DEFAULT)


def check(name: str) -> str:
    """``name`` if it is a style, else a ValueError listing them."""
    if name not in SCALES:
        raise ValueError(f"unknown figure style {name!r}; expected one of {', '.join(SCALES)}")
    return name


LITERAL_TEXT = {"text.parse_math": False}  # text from data (a class named "$5") is drawn as written, not as a formula


def rc(name: str) -> dict[str, Any]:
    """The matplotlib rc settings of style ``name`` (mathtext off in every style)."""
    scale = SCALES[check(name)]
    return {**{key: value * scale for key, value in {**_TEXT, **_LINES}.items()}, **LITERAL_TEXT}


def current() -> str:
    """The style figures are drawn in now (``notebook`` outside any ``style`` block)."""
    return _current.get()


@contextmanager
def style(name: str | None = None) -> Iterator[str]:
    """Draw the figures made in the block in style ``name`` (None: keep the current one)."""
    import matplotlib

    name = check(name) if name is not None else current()
    token = _current.set(name)
    try:
        with matplotlib.rc_context(rc(name)):
            yield name
    finally:
        _current.reset(token)


def marker_area() -> float:
    """Scatter marker area (points^2) for the current style: small dots that grow with the style's lines."""
    import matplotlib

    return (0.33 * matplotlib.rcParams["lines.markersize"]) ** 2
