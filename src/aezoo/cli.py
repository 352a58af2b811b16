"""The ``zoo`` command line. ``zoo --help``, ``zoo list`` and ``zoo plugins`` never import torch."""
from __future__ import annotations

import os
import warnings
from typing import Callable

import click

from aezoo import __version__
from aezoo.commands.options import printable
from aezoo.errors import AezooError, AezooWarning


def one_line(exc: BaseException) -> str:
    """A user-facing error as one line: an OSError names its file and the system's reason."""
    if isinstance(exc, OSError) and exc.strerror:
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
        text = f"{where}: {exc.strerror}" if where else exc.strerror
        if exc.errno in (28, 30, 13):  # ENOSPC, EROFS, EACCES
            text += " (free some space, or point AEZOO_HOME / --home / -o somewhere writable)"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(printable(line) for line in text.splitlines() if line.strip())


def warning_printer(previous: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` printing aezoo's own warnings as ``warning: ...`` on stderr, others as before."""

    def show(message, category, *where) -> None:
        if issubclass(category, AezooWarning):
            click.echo(f"warning: {printable(message)}", err=True)
        else:
            previous(message, category, *where)

    return show


class ZooGroup(click.Group):
    """Turns aezoo's user-facing errors into a one-line message and exit code 1, not a traceback; aezoo's warnings
    into ``warning: ...`` lines."""

    def invoke(self, ctx: click.Context):
        try:
            with warnings.catch_warnings():
                warnings.showwarning = warning_printer(warnings.showwarning)
                warnings.simplefilter("always", AezooWarning)
                return super().invoke(ctx)
        except (AezooError, ValueError, OSError) as exc:  # user mistakes and the environment: names, values,
            if os.environ.get("AEZOO_DEBUG"):  # files, a full disk, a read-only home
                raise
            if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 alone tells the user
                ctx.exit(1)
            raise click.ClickException(one_line(exc)) from exc


@click.group(cls=ZooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zoo")
def main() -> None:
    """aezoo: a plugin-style model zoo of autoencoders."""


def _add_commands() -> None:
    from aezoo.commands import catalog, figures
    from aezoo.commands.evaluate import eval_cmd
    from aezoo.commands.lesson import lesson_cmd
    from aezoo.commands.pages import compare_cmd, report_cmd
    from aezoo.commands.runs import runs_cmd
    from aezoo.commands.share import export_cmd, import_cmd
    from aezoo.commands.train import train_cmd

    for command in (*catalog.COMMANDS, train_cmd, runs_cmd, eval_cmd, *figures.COMMANDS, report_cmd, compare_cmd,
                    lesson_cmd, export_cmd, import_cmd):
        main.add_command(command)


_add_commands()
