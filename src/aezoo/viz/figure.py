"""The Figure every aezoo figure function returns: a matplotlib Figure (no pyplot, so no global state) that
remembers the style it was drawn in, which test images it shows (``picks``) and what it measured (``info``).

It shows inline in Jupyter, and ``fig.save(path, dpi=...)`` writes the PNG the ``zoo`` figure commands write (they
call the same functions and this same ``save``).
"""
from __future__ import annotations

import io
import textwrap
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import Any, Callable, TypeVar

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MatplotlibFigure

from aezoo.viz.styles import current, style

DPI = 100  # pixels per inch of a saved PNG unless --dpi / dpi= says otherwise
F = TypeVar("F", bound=Callable[..., Any])
_nested: ContextVar[int] = ContextVar("aezoo_figure_functions", default=0)  # figure functions running now


class Figure(MatplotlibFigure):
    """A matplotlib Figure with ``save`` (a PNG), ``picks`` (the test images shown, with labels), ``info`` (numbers
    the figure function measured) and ``style`` (the size style it was drawn in)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)
        self.style = current()
        self.picks: list[Any] = []
        self.info: dict[str, Any] = {}
        self.crop = False  # save without the white margins (figures whose panels keep their aspect)

    def save(self, path: Path | str, dpi: float | None = None) -> Path:
        """Write the figure as a PNG at ``dpi`` pixels per inch (default 100); the folder is created. The PNG is
        written beside ``path`` and renamed into place: a failure (a full disk) keeps the previous file."""
        from aezoo.registry.files import atomic_write_bytes

        atomic_write_bytes(path, self.png(dpi))
        return Path(path)

    def png(self, dpi: float | None = None) -> bytes:
        """The PNG file's bytes."""
        buffer = io.BytesIO()
        with style(self.style):  # tick locators read the tick label size from the rc settings at every draw
            self.savefig(buffer, format="png", dpi=dpi or DPI, bbox_inches="tight" if self.crop else None)
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:  # Jupyter shows the figure inline
        return self.png()

    def all_texts(self) -> list[Any]:
        """Every visible text of the figure (titles, labels, tick labels, legends), e.g. to check font sizes."""
        from matplotlib.text import Text

        self.draw_without_rendering()
        return [t for t in self.findobj(Text) if t.get_visible() and t.get_text()]


def new_figure(width: float, height: float) -> Figure:
    """An empty Figure of ``width`` x ``height`` inches with constrained layout, in the current style."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def figure_function(func: F) -> F:
    """Decorator of the functions that draw a Figure: the drawing happens inside the current style (see
    ``aezoo.viz.styles``), so that every font and line of the figure takes its sizes, and the layout is fixed
    there, so that every save of the figure writes the same PNG."""

    @wraps(func)
    def draw(*args: Any, **kwargs: Any) -> Any:
        outermost = _nested.get() == 0
        token = _nested.set(_nested.get() + 1)
        try:
            with style():
                fig = func(*args, **kwargs)
                if outermost:  # the outermost figure function, after any title was set: lay the figure
                    fig.draw_without_rendering()  # out once, in the style, and keep that layout (constrained
                    fig.set_layout_engine("none")  # layout moves a little on every draw: saves would differ)
        finally:
            _nested.reset(token)
        return fig

    return draw  # type: ignore[return-value]


def wrap(text: str, width_inches: float, size: str = "axes.titlesize") -> str:
    """``text`` broken into lines that fit ``width_inches`` at the current font size of rc setting ``size``."""
    import matplotlib
    from matplotlib.font_manager import FontProperties

    points = FontProperties(size=matplotlib.rcParams[size]).get_size_in_points()
    chars = max(20, int(width_inches * 72 / (0.55 * points)))
    return "\n".join(textwrap.fill(line, chars) for line in text.split("\n"))


def set_title(fig: Figure, title: str | None) -> None:
    """The figure's title (suptitle), wrapped to its width."""
    if title:
        fig.suptitle(wrap(title, fig.get_figwidth(), "figure.titlesize"))
