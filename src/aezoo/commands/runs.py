"""``zoo runs``: list, show, tag and remove trained runs in the registry (no torch needed)."""
from __future__ import annotations

import json

import click

HOME_OPTION = click.option("--home", type=click.Path(file_okay=False), envvar="AEZOO_HOME",
                           help="Registry folder [default: $AEZOO_HOME or $XDG_DATA_HOME/aezoo].")


def _short(metrics: dict) -> str:
    keys = ("val_loss", "test_neg_elbo", "test_bce")
    return " ".join(f"{k}={metrics[k]:.3f}" for k in keys if isinstance(metrics.get(k), (int, float)))


@click.group("runs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of runs; see docs/formats.md).")
@click.option("--model", help="Only runs of this model.")
@HOME_OPTION
@click.pass_context
def runs_cmd(ctx: click.Context, as_json: bool, model: str | None, home: str | None) -> None:
    """List trained runs; `zoo runs show|tag|rm REF` act on one.

    REF is a model name (its latest run), MODEL:VERSION, MODEL:ALIAS, a run id or a run name.
    """
    ctx.obj = home
    if ctx.invoked_subcommand is not None:
        return
    from aezoo.registry import Registry

    registry = Registry(home)
    records = registry.list(model)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in records], indent=2))
        return
    if not records:
        click.echo(f"no runs in {registry.home} yet; train one with: zoo train conv-vae")
        return
    for r in records:
        name = f" ({r.name})" if r.name else ""
        tags = f" [{', '.join(r.aliases)}]" if r.aliases else ""
        click.echo(f"{r.id}{name}{tags}  {r.created}  {r.config.get('dataset', '?')}  {_short(r.metrics)}")


@runs_cmd.command("show")
@click.argument("ref")
@click.pass_obj
def show_cmd(home: str | None, ref: str) -> None:
    """Print one run's record as JSON."""
    from aezoo.registry import Registry

    click.echo(json.dumps(Registry(home).get(ref).as_dict(), indent=2))


@runs_cmd.command("tag")
@click.argument("ref")
@click.argument("alias")
@click.pass_obj
def tag_cmd(home: str | None, ref: str, alias: str) -> None:
    """Give run REF the alias ALIAS, so that MODEL:ALIAS names it."""
    from aezoo.registry import Registry

    record = Registry(home).tag(ref, alias)
    click.echo(f"{record.model}:{alias} -> {record.id}")


@runs_cmd.command("rm")
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def rm_cmd(home: str | None, ref: str, yes: bool) -> None:
    """Delete run REF (its aliases go with it)."""
    from aezoo.registry import Registry

    registry = Registry(home)
    record = registry.get(ref)
    if not yes and not click.confirm(f"delete {record.id} ({record.path})?", default=False):
        raise click.Abort()
    click.echo(f"deleted {registry.delete(record)}")
