"""Self-contained HTML pages (figures embedded as data URIs, no server, no network): the building blocks of
`zoo report` and `zoo compare`."""
from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from aezoo.core.events import dotted
from aezoo.viz import metrics as metric_table

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } .sub { color: #555; margin-top: 0; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; } h3 { font-size: 1.05em; margin: 1.2em 0 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.na { color: #888; font-style: italic; } td.meaning { color: #555; } tr.group th { background: #e6ecf5; }
figure { display: inline-block; margin: 0.3em 0.5em 0.8em 0; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; border: 1px solid #eee; } p.what { color: #444; margin: 0.2em 0; }
p.picks { color: #666; font-size: 0.85em; margin: 0.1em 0 0.6em; } p.note { background: #fff7e0; padding: 0.4em 0.7em; }
p.note.warn, td.warn { background: #fde2de; } p.note.warn { border-left: 4px solid #c0392b; }
details { margin: 0.5em 0; } summary { cursor: pointer; color: #225; }
"""


def esc(text: Any) -> str:
    return html.escape(str(text))


def format_value(value: Any) -> str:
    """A short human-readable string for a table cell (floats to 4 significant digits)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return json.dumps(value, default=str)
    return str(value)


def key_value_table(mapping: Mapping[str, Any]) -> str:
    rows = []
    for key, value in dotted(mapping).items():
        cls = ' class="num"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        rows.append(f"<tr><th>{esc(key)}</th><td{cls}>{esc(format_value(value))}</td></tr>")
    return "<table>" + "".join(rows) + "</table>" if rows else "<p>(none)</p>"


def history_table(history: Sequence[Mapping[str, Any]], digits: int = 4) -> str:
    """Every epoch's record, collapsed under a summary line so that a long run does not fill the page."""
    columns: list[str] = []
    for record in history:
        columns += [k for k in record if k not in columns]
    if not columns:
        return "<p>(no training history)</p>"
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f'<td class="num">{esc(format_value(r.get(c, "")))}</td>' for c in columns)
                   + "</tr>" for r in history)
    return (f"<details><summary>History table ({len(history)} epochs)</summary>"
            f"<table><tr>{head}</tr>{body}</table></details>")


def metrics_table(runs: Mapping[str, Mapping[str, Any]]) -> str:
    """Grouped metrics, one value column per run, with units and one-line meanings; a metric a run lacks reads
    ``n/a: reason`` (or ``not measured``), never 0."""
    rows = metric_table.rows(runs)
    if not rows:
        return "<p>(no metrics)</p>"
    names = list(runs)
    head = "<tr><th>metric</th>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "<th>unit</th><th>meaning</th></tr>"
    out, group = [head], None
    for metric, cells in rows:
        if metric.group != group:
            group = metric.group
            out.append(f'<tr class="group"><th colspan="{len(names) + 3}">{esc(group)}</th></tr>')
        tds = "".join(f'<td class="{"na" if c.startswith(("n/a", "not ")) else "num"}">{esc(c)}</td>'
                      for c in (cells[n] for n in names))
        out.append(f"<tr><th>{esc(metric.label)}</th>{tds}<td>{esc(metric.unit)}</td>"
                   f'<td class="meaning">{esc(metric.meaning)}</td></tr>')
    return "<table>" + "".join(out) + "</table>"


def image_data_uri(path: Path | str) -> str:
    """The PNG at ``path`` as a ``data:image/png;base64,...`` URI."""
    return png_data_uri(Path(path).read_bytes())


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(title: str, images: Sequence[Any], what: str = "", picks: str = "") -> str:
    """A titled figure block: a one-line explanation, the images (PNG files, or Figures with a ``png()`` method),
    and which test images they show."""
    uris = [png_data_uri(i.png()) if hasattr(i, "png") else image_data_uri(i) for i in images]
    imgs = "".join(f'<figure><img alt="{esc(title)}" src="{uri}"></figure>' for uri in uris)
    return (f"<h3>{esc(title)}</h3>" + (f'<p class="what">{esc(what)}</p>' if what else "") + imgs
            + (f'<p class="picks">{esc(picks)}</p>' if picks else ""))


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str]]) -> str:
    """A whole HTML document: a title, a subtitle line and (heading, html) sections."""
    body = "".join(f"<h2>{esc(h)}</h2>{content}" for h, content in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"sub\">{esc(subtitle)}</p>{body}</body></html>\n")


def write_page(path: Path | str, text: str) -> Path:
    """Write the page beside ``path`` and rename it into place: a failure (a full disk) keeps the old page."""
    from aezoo.registry.files import atomic_write_bytes

    atomic_write_bytes(path, text.encode("utf-8"))
    return Path(path)

