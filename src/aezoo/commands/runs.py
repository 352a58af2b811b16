"""``zoo runs``: list, show, verify, tag, untag, remove and clean up trained runs, and list the checkpoints of
unfinished trainings (no torch needed)."""
from __future__ import annotations

import json

import click

from aezoo.commands.options import HOME_OPTION, printable


def _short(metrics: dict) -> str:
    keys = ("val_loss", "test_neg_elbo", "test_bce")
    return " ".join(f"{k}={metrics[k]:.3f}" for k in keys if isinstance(metrics.get(k), (int, float)))


@click.group("runs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of runs; see docs/formats.md).")
@click.option("--model", help="Only runs of this model.")
@HOME_OPTION
@click.pass_context
def runs_cmd(ctx: click.Context, as_json: bool, model: str | None, home: str | None) -> None:
    """List trained runs (damaged ones marked with what is wrong); `zoo runs show|verify|tag|untag|rm REF`
    act on one, `zoo runs gc` cleans what dead processes left, `zoo runs checkpoints` lists unfinished
    trainings with their resume command.

    REF is a model name (its latest run), MODEL:VERSION, MODEL:ALIAS, a run id or a run name.
    """
    ctx.obj = home
    if ctx.invoked_subcommand is not None:
        return
    from aezoo.registry import Registry

    registry = Registry(home)
    records = registry.list(model)
    damaged = registry.damaged(model)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in records], indent=2))
        return
    if not records and not damaged:
        if model is not None and registry.list():
            models = sorted({r.model for r in registry.list()})
            click.echo(f"no runs of model {printable(model)!r} in {registry.home} (runs exist for: "
                       f"{', '.join(models)})")
        else:
            click.echo(f"no runs in {registry.home} yet; train one with: zoo train conv-vae")
        _mention_checkpoints(registry)
        return
    for r in records:
        name = f" ({r.name})" if r.name else ""
        tags = f" [{', '.join(r.aliases)}]" if r.aliases else ""
        line = f"{r.id}{name}{tags}  {r.created}  {r.config.get('dataset', '?')}  {_short(r.metrics)}"
        click.echo(printable(line))
    for run_id, _, reason in damaged:
        click.echo(printable(f"{run_id}  DAMAGED: {reason}") + f" (remove it: zoo runs rm {run_id})")
    _mention_checkpoints(registry)


def _mention_checkpoints(registry) -> None:
    count = len(registry.list_checkpoints())
    if count:
        click.echo(f"{count} resumable checkpoint{'s' if count > 1 else ''} of unfinished trainings: "
                   "see `zoo runs checkpoints`")


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


@runs_cmd.command("untag")
@click.argument("ref", metavar="MODEL:ALIAS")
@click.pass_obj
def untag_cmd(home: str | None, ref: str) -> None:
    """Remove the alias MODEL:ALIAS (the run it names stays)."""
    from aezoo.registry import Registry
    from aezoo.registry.refs import split_ref

    model, alias = split_ref(ref)
    if alias is None:
        raise click.BadParameter(f"{ref!r} is not MODEL:ALIAS (e.g. conv-vae:best)", param_hint="MODEL:ALIAS")
    Registry(home).untag(model, alias)
    click.echo(f"removed alias {model}:{alias}")


@runs_cmd.command("rm")
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def rm_cmd(home: str | None, ref: str, yes: bool) -> None:
    """Delete run REF (its aliases go with it); a damaged run is removed too.

    An alias (MODEL:ALIAS) is refused: remove the alias with `zoo runs untag`, the run by its id."""
    from aezoo.errors import RegistryError
    from aezoo.registry import Registry
    from aezoo.registry.refs import LATEST, split_ref

    registry = Registry(home)
    model, selector = split_ref(ref)
    if selector is not None and not selector.isdigit() and selector != LATEST:
        run_id = registry.get(ref).id
        raise RegistryError(f"{ref} is an alias of {run_id}: remove the alias with `zoo runs untag {ref}`, "
                            f"or delete the run with `zoo runs rm {run_id}`")
    run_id = registry.identify(ref)  # resolved once: the run confirmed is the run deleted, or nothing is
    try:
        label = f"{run_id} ({registry.get(run_id).path})"
    except RegistryError as exc:
        if "is damaged" not in str(exc):
            raise
        label = f"damaged run {run_id}"
    if not yes and not click.confirm(f"delete {label}?", default=False):
        raise click.Abort()
    click.echo(f"deleted {registry.delete(ref, expect=run_id)}")


@runs_cmd.command("verify")
@click.argument("ref", required=False)
@click.pass_obj
def verify_cmd(home: str | None, ref: str | None) -> None:
    """Check the size and sha256 of every file of run REF (default: of every run); exit 1 if any is bad."""
    from aezoo.errors import RegistryError
    from aezoo.registry import Registry

    registry = Registry(home)
    refs = [ref] if ref else [r.id for r in registry.list()]
    bad = [] if ref else [f"{run_id}: {reason}" for run_id, _, reason in registry.damaged()]
    for one in refs:
        try:
            click.echo(f"ok {registry.verify(one).id}")
        except RegistryError as exc:
            bad.append(f"{one}: {exc}")
    for line in bad:
        click.echo(printable(f"BAD {line}"))
    if bad:  # exit 1
        raise click.ClickException(f"{len(bad)} run(s) failed verification")
    if not refs:
        click.echo(f"no runs in {registry.home}")


@runs_cmd.command("gc")
@click.option("--older-than", type=click.FloatRange(min=0), default=1.0, show_default=True, metavar="HOURS",
              help="Remove empty checkpoint and version folders only when older than this.")
@click.pass_obj
def gc_cmd(home: str | None, older_than: float) -> None:
    """Clean what crashed or killed processes left: staging folders of processes that are gone, trash,
    interrupted deletes, empty checkpoint folders and empty version folders (the highest of each model
    stays, so version numbers are never reused). A folder whose process is alive is never touched;
    resumable checkpoints are kept (see `zoo runs checkpoints`)."""
    from aezoo.registry import Registry

    registry = Registry(home)
    removed = registry.gc(max_age_s=older_than * 3600)
    for path in removed:
        click.echo(f"removed {path}")
    click.echo(f"{len(removed)} leftover(s) removed")
    kept = len(registry.list_checkpoints())
    if kept:
        click.echo(f"{kept} resumable checkpoint{'s' if kept > 1 else ''} kept: resume or remove them "
                   "(see `zoo runs checkpoints`)")


@runs_cmd.command("checkpoints")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of checkpoints).")
@click.option("--rm", "remove", metavar="KEY", help="Remove the checkpoint KEY (its training cannot be resumed).")
@click.pass_obj
def checkpoints_cmd(home: str | None, as_json: bool, remove: str | None) -> None:
    """List the checkpoints of trainings that did not finish (interrupted, killed, failed at the save), with
    the command that resumes each; a checkpoint in use names the process using it."""
    from aezoo.errors import RegistryError
    from aezoo.registry import Registry

    registry = Registry(home)
    if remove is not None:
        found = {c.key: c for c in registry.checkpoints()}
        if remove not in found:
            from aezoo.errors import UnknownNameError

            raise UnknownNameError("checkpoint", remove, sorted(found))
        if found[remove].owner:
            raise RegistryError(f"checkpoint {remove} is in use by {found[remove].owner}; stop it first")
        registry.remove_checkpoint(remove)
        click.echo(f"removed checkpoint {remove}")
        return
    found = registry.checkpoints()
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in found], indent=2))
        return
    if not found:
        click.echo(f"no checkpoints in {registry.home}: every training finished or was never started")
        return
    for c in found:
        if c.problem:
            what = f"unreadable: {c.problem}"
        else:
            what = f"{c.model} on {c.dataset}, {c.epochs_done} of {c.epochs} epochs done"
        state = f"in use by {c.owner}" if c.owner else c.resume
        click.echo(printable(f"{c.key}  {c.modified}  {what}  {state}"))
