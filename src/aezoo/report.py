"""A single self-contained HTML report: figures embedded as base64 data URIs, config/metrics/history tables."""
from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; } figcaption { font-size: 0.9em; color: #555; }
"""


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


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def key_value_table(mapping: Mapping[str, Any]) -> str:
    rows = []
    for key, value in flatten(mapping).items():
        cls = ' class="num"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        rows.append(f"<tr><th>{html.escape(str(key))}</th><td{cls}>{html.escape(format_value(value))}</td></tr>")
    return "<table>" + "".join(rows) + "</table>" if rows else "<p>(none)</p>"


def history_table(history: Sequence[Mapping[str, Any]]) -> str:
    columns: list[str] = []
    for record in history:
        columns += [k for k in record if k not in columns]
    if not columns:
        return "<p>(no training history)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f'<td class="num">{html.escape(format_value(r.get(c, "")))}</td>'
                                    for c in columns) + "</tr>" for r in history)
    return f"<table><tr>{head}</tr>{body}</table>"


def image_data_uri(path: Path | str) -> str:
    """The PNG at ``path`` as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def write_report(path: Path | str, title: str, config: Mapping[str, Any], metrics: Mapping[str, Any],
                 figures: Mapping[str, Path | str], history: Sequence[Mapping[str, Any]] = ()) -> Path:
    """Write one HTML file that opens in a browser with no server: all figures are embedded."""
    path = Path(path)
    figure_html = "".join(
        f'<figure><img alt="{html.escape(name)}" src="{image_data_uri(fig)}">'
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
        for name, fig in figures.items()
    ) or "<p>(no figures)</p>"
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<h2>Metrics</h2>{key_value_table(metrics)}"
        f"<h2>Figures</h2>{figure_html}"
        f"<h2>Configuration</h2>{key_value_table(config)}"
        f"<h2>Training history</h2>{history_table(list(history))}"
        "</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
