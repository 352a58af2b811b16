"""``zoo export`` and ``zoo import``: share a trained run as a self-contained folder, and take one in."""
from __future__ import annotations

import click

from aezoo.commands.options import HOME_OPTION, printable


@click.command("export")
@click.argument("ref")
@click.argument("directory", type=click.Path())
@click.option("--no-samples", is_flag=True, help="Do not draw samples.png.")
@HOME_OPTION
def export_cmd(ref: str, directory: str, no_samples: bool, home: str | None) -> None:
    """Write run REF as a shareable folder DIRECTORY (new or empty).

    The folder holds model.safetensors, config.json, a README.md model card, samples.png and a
    manifest.json of sha256 hashes; load it with aezoo.load("DIRECTORY") or `zoo import DIRECTORY`.
    """
    from aezoo.api.share import export_run
    from aezoo.registry.export import read_export

    path = export_run(ref, directory, home=home, samples=not no_samples)
    info = read_export(path)
    click.echo(f"exported {info.config['source_run']['id']} to {path}")
    skipped = info.config.get("samples", {}).get("skipped")
    if skipped:
        click.echo(f"no samples.png: {skipped}")


@click.command("import")
@click.argument("directory", type=click.Path())
@click.option("--name", help="A name for the new run (letters, digits, - _ .).")
@HOME_OPTION
def import_cmd(directory: str, name: str | None, home: str | None) -> None:
    """Verify the export folder DIRECTORY and save it into the registry as a new run; prints its id."""
    from aezoo.api.share import import_export

    record = import_export(directory, name=name, home=home)
    click.echo(f"imported {directory} as {record.id}")
    if record.config.get("dataset_not_kept"):
        click.echo(f"its dataset {printable(record.config['dataset_not_kept'])!r} was not kept (an import keeps only "
                   f"a registered data source that reads no local files): give --dataset to evaluate or draw "
                   f"{record.id}", err=True)
