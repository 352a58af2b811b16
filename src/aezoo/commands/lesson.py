"""``zoo lesson``: the classic VAE tutorial told with your own runs, on one self-contained HTML page.

Its own module rather than a third command in pages.py: it trains (a budget, a seed, reuse of earlier runs) as
well as writes a page, and has options no other page has (--quick, --lang, --section)."""
from __future__ import annotations

from pathlib import Path

import click

from aezoo.commands.options import HOME_OPTION, STYLE_OPTION
from aezoo.pages.lesson import SECTIONS



def _languages() -> list[str]:
    from aezoo.pages.lesson.catalogue import languages

    return languages()


@click.command("lesson")
@click.option("--dataset", default="digits", show_default=True,
              help="A dataset from `zoo datasets`: digits, fashion-mnist, mnist, npz:PATH, folder:PATH, ...")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs for every run [default: the trainer's default for the data; with --quick about 600 "
                   "steps' worth].")
@click.option("--quick", is_flag=True, help="A class-time version: short training (about a minute on digits).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="The seed of every run and of every draw on the page.")
@click.option("--lang", type=click.Choice(_languages()), default="en", show_default=True,
              help="The page's language (one catalogue file per language).")
@click.option("--section", "sections", multiple=True, type=click.Choice(SECTIONS),
              help="Only this section (repeatable): trains and shows only what it needs.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="HTML page to write [default: lesson-DATASET[-quick]-LANG.html]; its numbers go next to it (.json).")
@STYLE_OPTION
@click.option("--progress", is_flag=True, help="Show each run's training progress.")
@click.option("--open", "open_page", is_flag=True, help="Open the page in the web browser.")
@HOME_OPTION
def lesson_cmd(dataset, data_dir, epochs, quick, seed, lang, sections, output, style, progress, open_page, home):
    """The classic VAE tutorial's story told with your own runs on DATASET, section by section: dimensionality
    reduction (PCA, a linear and a deep autoencoder), compression / denoising / inpainting, the plain AE's irregular
    latent space against the VAE's (shared axes, N(0, I) draws decoded by both), the KL term (a beta sweep, collapse
    marked), t-SNE with its caveat beside PCA, and sampling. Each section explains, gives the numbers computed from
    the runs, shows the figures and the command that makes each alone.

    Runs are found in the registry by their lesson name (dataset, role and a fingerprint of their settings) or
    trained with one seed and budget, so running it again trains nothing.

    \b
    zoo lesson --quick
    zoo lesson --dataset fashion-mnist --epochs 3 --lang es
    zoo lesson --quick --style talk        # every font and line 1.5x, for a lecture hall
    """
    from aezoo.core.events import ConsoleProgress
    from aezoo.pages.lesson.page import build_lesson
    from aezoo.pages.lesson.runs import slug

    say = lambda line: click.echo(line, err=True)  # noqa: E731
    name = "-".join(["lesson", slug(dataset, 40), *(["quick"] if quick and epochs is None else []),
                     *(list(sections) if sections else []), lang])
    path = Path(output) if output else Path(name + ".html")
    summary = build_lesson(path, dataset, data_dir, epochs, quick, seed, lang, list(sections) or None, home, say,
                           ConsoleProgress(echo=say) if progress else False, look=style)
    trained = sum(not r["reused"] for r in summary["runs"].values())
    click.echo(f"wrote {path} ({len(summary['sections'])} sections, {len(summary['runs'])} runs: {trained} trained, "
               f"{len(summary['runs']) - trained} reused)\nwrote {path.with_suffix('.json')}")
    if open_page:
        click.launch(str(path.resolve()))
