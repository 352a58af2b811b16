"""The catalogue commands: ``zoo list`` (models), ``zoo datasets`` and ``zoo plugins``. None imports torch."""
from __future__ import annotations

import json

import click

from aezoo.commands.options import printable


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.argument("pattern", required=False)
def list_cmd(as_json: bool, pattern: str | None) -> None:
    """List the registered models (optionally matching a wildcard PATTERN such as '*vae'). A model whose plain name
    another plugin's model already has is listed by its qualified name PLUGIN/MODEL, which always reaches it."""
    from aezoo.api.catalog import list_models, model_spec
    from aezoo.plugins.manager import catalog

    names = list_models(pattern)
    rows = [(n, model_spec(n)) for n in names]
    shadowed = catalog().shadowed
    if as_json:
        click.echo(json.dumps([{"name": n, "qualified": s.qualified, "family": s.family, "summary": s.summary,
                                "plugin": s.plugin, "shadows": shadowed.get(n, []),
                                "shadowed_by": catalog().models[s.name].qualified if "/" in n else None}
                               for n, s in rows], indent=2))
        return
    widths = [max([len(h)] + [len(v) for v in values]) for h, values in
              (("NAME", names), ("FAMILY", [s.family for _, s in rows]), ("PLUGIN", [s.plugin for _, s in rows]))]
    click.echo(f"{'NAME':<{widths[0]}}  {'FAMILY':<{widths[1]}}  {'PLUGIN':<{widths[2]}}  SUMMARY")
    for n, s in rows:
        if n in shadowed:
            mark = f"  [also provided by {', '.join(f'{p} ({p}/{n})' for p in shadowed[n])}]"
        elif "/" in n:
            mark = f"  [the plain name {s.name!r} reaches {catalog().models[s.name].qualified}]"
        else:
            mark = ""
        click.echo(f"{n:<{widths[0]}}  {s.family:<{widths[1]}}  {s.plugin:<{widths[2]}}  {s.summary}{mark}")


@click.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def datasets_cmd(as_json: bool) -> None:
    """List the registered datasets (use them with `zoo train --dataset NAME`, or NAME:PATH)."""
    from aezoo.plugins.manager import catalog

    specs = [catalog().datasets[n] for n in sorted(catalog().datasets)]
    if as_json:
        click.echo(json.dumps([{"name": d.name, "summary": d.summary, "plugin": d.plugin, "takes_path": d.takes_path}
                               for d in specs], indent=2))
        return
    names = [d.name + (":PATH" if d.takes_path else "") for d in specs]
    width = max([len("NAME")] + [len(n) for n in names])
    plugin_width = max([len("PLUGIN")] + [len(d.plugin) for d in specs])
    click.echo(f"{'NAME':<{width}}  {'PLUGIN':<{plugin_width}}  SUMMARY")
    for name, d in zip(names, specs):
        click.echo(f"{name:<{width}}  {d.plugin:<{plugin_width}}  {d.summary}")


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--check", is_flag=True, help="Also import every factory and loader (this may import torch); a "
                                            "plugin whose factory does not import is shown as failed (exit 1).")
def plugins_cmd(as_json: bool, check: bool) -> None:
    """List the loaded plugins, their package and version, and what they registered or why they failed."""
    from dataclasses import replace

    from aezoo.plugins.manager import catalog, check_factories

    cat = catalog()
    infos = list(cat.plugins.values())
    if check:
        infos = [replace(i, errors=[*i.errors, *check_factories(i, cat)]) for i in infos]
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos], indent=2))
    else:
        _print_plugins(infos)
    if check and not all(i.ok for i in infos):
        raise SystemExit(1)


def _print_plugins(infos: list) -> None:
    for i in infos:
        status = "ok" if i.ok else "FAILED" if not (i.models or i.datasets) else "partly failed"
        pkg = f"{i.package} {i.version}".strip()
        click.echo(f"{i.name} ({pkg or 'in-process'}): {status}")
        if i.models:
            click.echo(f"  models: {', '.join(i.models)}")
        for name in i.shadowed:
            click.echo(f"  note: {name!r} is also an earlier plugin's model name, which the plain name reaches; "
                       f"reach this plugin's as {i.name}/{name}")
        if i.datasets:
            click.echo(f"  datasets: {', '.join(i.datasets)}")
        for e in i.errors:
            click.echo(f"  error: {printable(e)}")
        if i.output.strip():
            click.echo(f"  printed while loading: {printable(i.output.strip())[:300]}")


COMMANDS = [list_cmd, datasets_cmd, plugins_cmd]
