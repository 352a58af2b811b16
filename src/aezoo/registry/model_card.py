"""The README.md model card of an exported run, in the layout model hubs use (YAML front matter first).

Every value on the card is text a run's owner or a plugin chose (class names, dataset, hyperparameters), so each
is written with ``<``, ``>`` and ``&`` escaped: Markdown passes raw HTML through, and a card is read on hubs."""
from __future__ import annotations

import html
import json
from typing import Any


def _yaml_text(value: Any) -> str:
    """A YAML double-quoted string of ``value`` with ``<``, ``>`` and ``&`` as \\u escapes: the same text to a
    YAML reader, no raw HTML to a Markdown renderer that shows the front matter as it is."""
    return json.dumps(str(value)).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _md(value: Any) -> str:
    """``value`` as Markdown text showing exactly its characters: no HTML, no code span, no table cell break."""
    return html.escape(str(value), quote=False).replace("`", "&#96;").replace("|", "\\|")


def model_card(config: dict[str, Any], summary: str = "") -> str:
    """README.md text: YAML front matter (library_name, tags) then model, data, hyperparameters, metrics,
    samples and how to load it; ``summary`` is the model's one-line description from its plugin."""
    model, source = config["model"], config["source_run"]
    tags = ["aezoo", "autoencoder", "pytorch", "safetensors", model]
    if config["variational"]:
        tags.insert(2, "variational-autoencoder")
    if config.get("dataset"):
        tags.append(f"dataset:{config['dataset']}")
    front = ["---", "library_name: aezoo", "tags:", *[f"- {_yaml_text(t)}" for t in tags], "---", ""]
    shape = " x ".join(str(d) for d in config["input_shape"])
    folder = f"path/to/{source['id']}"
    dataset = _md(config.get("dataset") or "unknown data")
    lines = [
        f"# {_md(model)} trained on {dataset} ({_md(source['id'])})", "",
        *([_md(summary), ""] if summary else []),
        "## Model", "",
        *_table({"model": model, "posterior q(z|x)": config.get("posterior", "gaussian" if config["variational"] else
                                                                "point"),
                 "prior p(z)": config.get("prior", ""), "latent dim": config["latent_dim"],
                 "input shape (C x H x W)": shape, "parameters": f"{config['num_parameters']:,}",
                 "source run": source["id"] + (f" ({source['name']})" if source.get("name") else ""),
                 "created": source.get("created") or "", "trained with aezoo": config["trained_with_aezoo_version"],
                 "exported with aezoo": config["aezoo_version"], "weights sha256": config["weights"]["sha256"]}),
        "", "## Data", "",
        f"Trained on {dataset}" + (f" (classes: {', '.join(map(_md, config['classes']))})."
                                   if config.get("classes") else "."),
        "", "## Hyperparameters", "", *_table(config["hyperparameters"]),
        "", "## Training settings", "", *_table(config.get("train") or {}),
        "", "## Metrics", "", *_table(_metrics_shown(config["metrics"])),
        "", "## Samples", "", *_samples_section(config["samples"]),
        "", "## How to use", "",
        "Load it straight from this folder (sha256 and shapes are verified first):", "",
        "```python", "import aezoo", "", f'model = aezoo.load("{folder}")  # eval mode, on the CPU',
        "codes = model.encode(images)      # images: float (N, C, H, W) in [0, 1]",
        "images = model.reconstruct(images)", "```", "",
        "Or add it to your local aezoo registry as a new version of the model:", "",
        "```bash", f"zoo import {folder} --name my-{model}", "```", "",
        "`manifest.json` lists the sha256 of every file; `config.json` holds everything on this card.", "",
    ]
    return "\n".join(front + lines)


def _samples_section(info: dict[str, Any]) -> list[str]:
    if info.get("file"):
        return [f"{_md(info['kind']).capitalize()} ({info['count']} images):", "",
                f"![{_md(info['kind'])}]({info['file']})"]
    return [f"_No sample image ({_md(info.get('skipped', 'skipped'))})._"]


def _table(values: dict[str, Any]) -> list[str]:
    if not values:
        return ["_none_"]

    def cell(v: Any) -> str:
        return _md(f"{v:.6g}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (list, dict)) else v)

    return ["| key | value |", "| --- | --- |", *[f"| {_md(k)} | {cell(v)} |" for k, v in values.items()]]


def _metrics_shown(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics for the card: each one a model does not define shown as ``n/a: reason`` in its own row."""
    shown = {k: v for k, v in metrics.items() if not k.endswith("not_applicable")}
    for key, reasons in metrics.items():
        if key.endswith("not_applicable") and isinstance(reasons, dict):
            prefix = key[: -len("not_applicable")]
            shown.update({prefix + metric: f"n/a: {why}" for metric, why in reasons.items()})
    return shown
