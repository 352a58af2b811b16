"""The page commands: ``zoo report`` (one run on one HTML page) and ``zoo compare`` (runs side by side on one
page and one JSON file; ``--train`` trains the models first)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from aezoo.commands.options import (
    HOME_OPTION,
    STYLE_OPTION,
    check_compared,
    heavy_command,
    open_run,
    out_path,
    sweep_plans,
)


@heavy_command(check_compared, "training (--train; default: measured), evaluation and figures")
@click.command("compare")
@click.argument("refs", nargs=-1, required=True)
@click.option("--train", "train_first", is_flag=True,
              help="REFS are model names: train each (same dataset, seed and epochs) first, then compare the runs.")
@click.option("--set", "sets", multiple=True, metavar="[MODEL.]KEY=VALUE[,VALUE...]",
              help="With --train: a hyperparameter for every model that has it (MODEL.KEY: for one model only); "
                   "several comma-separated values sweep: one run per value, named by it (vae-beta0). Repeatable.")
@click.option("--dataset", help="Compare on this dataset's test split [default: each run's own; with --train: digits].")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="With --train: epochs for every model [default: the trainer's default].")
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed (--train) and sampling seed.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="HTML page to write [default: compare-RUN-RUN....html]; the JSON goes next to it (.json).")
@click.option("--json", "as_json", is_flag=True, help="Also print the JSON summary.")
@click.option("--open", "open_page", is_flag=True, help="Open the page in the web browser.")
@STYLE_OPTION
@HOME_OPTION
def compare_cmd(refs, train_first, sets, dataset, data_dir, epochs, seed, output, as_json, open_page, style, home):
    """Compare runs REFS (references as for `zoo eval`), each labelled by its --name and by the settings that
    differ between them: warnings (posterior collapse), every run's test metrics side by side (evaluated first
    where missing; a metric a run does not have reads "n/a: reason"), latent maps on shared axes (2-D codes
    directly, else one PCA fitted on all the runs' codes), the same N(0, I) draws decoded by every run (a plain
    autoencoder was never trained to make these meaningful, and the page says so), reconstructions of the same
    seeded test images, samples from each run's own sampler, and training curves overlaid. Runs of different
    families and datasets are allowed.

    \b
    zoo compare conv-vae conv-ae vae
    zoo compare --train vae --set beta=0,1,4 --epochs 30      # a sweep: vae-beta0, vae-beta1, vae-beta4
    zoo compare --train conv-vae beta-vae conv-ae --epochs 40 --set warmup=1000 --set beta-vae.beta=2
    """
    from aezoo.core.diagnosis import warnings
    from aezoo.pages.compare import build_compare, load_entries, train_all
    from aezoo.registry.files import atomic_write_bytes
    from aezoo.viz.styles import style as drawn_in

    say = lambda line: click.echo(line, err=True)  # noqa: E731
    if train_first:
        refs = train_all(sweep_plans(sets, refs), dataset or "digits", epochs, seed, data_dir, home, say)
    elif epochs is not None or sets:
        raise click.UsageError(f"{'--epochs' if epochs is not None else '--set'} is for --train (training the "
                               "models first)")
    entries = load_entries(refs, dataset, data_dir, home, say)
    for entry in entries:
        for warning in warnings(entry.metrics):
            say(f"{entry.short}: {warning}")
    ids = [e.id for e in entries]
    path = Path(output) if output else Path("compare-" + "-".join(ids)[:150] + ".html")
    with drawn_in(style):
        summary = build_compare(entries, path, seed)
    json_path = path.with_suffix(".json")
    summary["page"] = str(path)
    atomic_write_bytes(json_path, (json.dumps(summary, indent=2, default=str) + "\n").encode())
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        click.echo(f"wrote {path}\nwrote {json_path}")
        for name, picks in summary["test_images"].items():
            shown = ", ".join(f"{i} ({c})" if c else str(i) for i, c in
                              zip(picks["test_images"], picks["classes"] or [""] * len(picks["test_images"])))
            click.echo(f"{name}: test images {shown}")
    if open_page:
        click.launch(str(path.resolve()))


@heavy_command()
@click.command("report")
@click.argument("ref")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="HTML file to write [default: RUNID-report.html].")
@click.option("--dataset", help="Take images from this dataset instead of the run's own.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")
@click.option("--open", "open_page", is_flag=True, help="Open the page in the web browser.")
@STYLE_OPTION
@HOME_OPTION
def report_cmd(ref, output, dataset, data_dir, open_page, style, home):
    """One self-contained HTML page: test metrics (evaluated first when the run has none), training curves, every
    figure that applies to the model, and its configuration. Test images are seeded picks spread across classes."""
    from aezoo.pages.report import build_report
    from aezoo.viz.styles import style as drawn_in

    model, splits = open_run(ref, home, dataset, data_dir)
    path = out_path(output, model, "report", suffix=".html")
    with drawn_in(style):
        build_report(model, splits, path, home=home, say=lambda line: click.echo(line, err=True))
    click.echo(f"wrote {path}")
    if open_page:
        click.launch(str(path.resolve()))
