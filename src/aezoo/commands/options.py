"""What the commands share: ``--set KEY=VALUE`` and TOML values parsed into the types a model's defaults have,
the ``--home`` option, the figure commands' common options and output, opening the run a command names, and
text made safe to print."""
from __future__ import annotations

import functools
import json
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from aezoo.viz.styles import SCALES


def coerce(text: str, default: Any) -> Any:
    """Convert ``text`` to the type of ``default`` (bool, int, float, tuple of those, str)."""
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(default, (tuple, list)):
        items = [t for t in text.replace("(", "").replace(")", "").split(",") if t.strip()]
        sample = default[0] if default else 0
        return tuple(coerce(t.strip(), sample) for t in items)
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_sets(pairs: tuple[str, ...], defaults: dict[str, Any], model: str) -> dict[str, Any]:
    """``('latent_dim=2', 'channels=16,32')`` -> typed dict; unknown keys list the valid ones."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE (e.g. --set latent_dim=2)", param_hint="--set")
        if key not in defaults:
            raise click.BadParameter(
                f"model {model!r} has no hyperparameter {key!r}; valid: {', '.join(sorted(defaults))}",
                param_hint="--set")
        try:
            out[key] = coerce(text.strip(), defaults[key])
        except ValueError as exc:
            raise click.BadParameter(f"{key}: {exc}", param_hint="--set") from None
    return out


def sweep_plans(pairs: tuple[str, ...], models: Sequence[str]) -> list[Any]:
    """``--set`` of ``zoo compare --train`` as runs to train (``aezoo.pages.compare.Plan``): ``KEY=VALUE`` applies
    to every model that has KEY, ``MODEL.KEY=VALUE`` to MODEL only; ``KEY=V1,V2,...`` sweeps (``;`` between the
    values of a list-valued KEY, e.g. ``channels=16,32;32,64``): one run per value (per combination, for several
    swept keys) of each model that has KEY, named by the values (``vae-beta0``)."""
    import itertools

    from aezoo.api.catalog import model_spec
    from aezoo.pages.compare import Plan

    defaults = {m: model_spec(m).hyperparameters() for m in models}
    values: dict[str, dict[str, list[Any]]] = {m: {} for m in models}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        scope, dot, key = key.strip().rpartition(".")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE or MODEL.KEY=VALUE (e.g. --set beta=0,1,4)",
                                     param_hint="--set")
        if dot and scope not in models:
            raise click.BadParameter(f"{pair!r}: {scope!r} is not one of the models trained here "
                                     f"({', '.join(models)})", param_hint="--set")
        targets = [m for m in ([scope] if dot else models) if key in defaults[m]]
        if not targets:
            valid = sorted({k for m in ([scope] if dot else models) for k in defaults[m]})
            raise click.BadParameter(f"no model here has hyperparameter {key!r}; valid: {', '.join(valid)}",
                                     param_hint="--set")
        for m in targets:
            default = defaults[m][key]
            texts = text.split(";") if isinstance(default, (tuple, list)) else text.split(",")
            try:
                values[m][key] = [coerce(t.strip(), default) for t in texts if t.strip()]
            except ValueError as exc:
                raise click.BadParameter(f"{key}: {exc}", param_hint="--set") from None
    plans = []
    for m in models:
        keys = list(values[m])
        swept = [k for k in keys if len(values[m][k]) > 1]
        for combination in itertools.product(*(values[m][k] for k in keys)):
            hp = dict(zip(keys, combination))
            name = "-".join([m, *(f"{k}{_name_part(hp[k])}" for k in swept)]) if swept else None
            plans.append(Plan(m, hp, name))
    return plans


def _name_part(value: Any) -> str:
    """A hyperparameter value as part of a run name: ``4.0`` -> ``4``, ``(16, 32)`` -> ``16x32``."""
    if isinstance(value, (tuple, list)):
        return "x".join(_name_part(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def check_value(key: str, value: Any, default: Any, where: str) -> Any:
    """A TOML value for hyperparameter ``key``, checked against the type of its ``default`` as strictly as
    ``--set`` is (``5`` is no list, ``1.5`` no int); raises click.BadParameter naming ``where`` and the key."""
    def fail(expected: str) -> click.BadParameter:
        return click.BadParameter(f"{where}: {key} = {value!r}: expected {expected}", param_hint="--config")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if isinstance(default, (tuple, list)):
        if not isinstance(value, list):
            raise fail(f"a list such as {list(default)!r}")
        sample = default[0] if default else None
        return tuple(check_value(key, v, sample, where) for v in value) if default else tuple(value)
    if isinstance(default, int):
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail("an integer")
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise fail("a number")
        return float(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise fail("a string")
    return value


def check_option(param: click.Parameter, value: Any, where: str, ctx: click.Context) -> Any:
    """A TOML value for command option ``param``: the TOML type must match (an int for an int option, a
    string for a choice) and then pass the option's own checks (ranges, choices)."""
    kind = param.type
    key = param.name
    if getattr(param, "is_flag", False):
        ok = isinstance(value, bool)
        expected = "true or false"
    elif isinstance(kind, click.types.IntParamType):
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    elif isinstance(kind, click.types.FloatParamType):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        expected = "a number"
    else:
        ok = isinstance(value, str)
        expected = "a string"
    if not ok:
        raise click.BadParameter(f"{where}: {key} = {value!r}: expected {expected}", param_hint="--config")
    try:
        return kind.convert(value, param, ctx)
    except click.BadParameter as exc:
        raise click.BadParameter(f"{where}: {key} = {value!r}: {exc.message}", param_hint="--config") from None


FILE_KINDS = {stat.S_IFIFO: "named pipe (FIFO)", stat.S_IFCHR: "character device", stat.S_IFBLK: "block device",
              stat.S_IFSOCK: "socket", stat.S_IFDIR: "folder"}


def read_regular_file(path: str, limit: int, option: str) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes: a FIFO would wait for a
    writer forever and /dev/zero never ends, so both are refused (click.BadParameter naming ``option``)."""
    try:  # non-blocking: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint=option) from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = FILE_KINDS.get(stat.S_IFMT(mode), "special file")
            raise click.BadParameter(f"{path} is a {kind}, not a regular file; give a file", param_hint=option)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise click.BadParameter(f"{path} is larger than {limit:,} bytes; a settings file is a few lines",
                                 param_hint=option)
    return data


def printable(value: object) -> str:
    """``str(value)`` with control characters (terminal escape sequences, newlines) shown escaped."""
    text = str(value)
    return "".join(ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def open_run(ref: str, home: str | None = None, dataset: str | None = None, data_dir: str | None = None):
    """The model of run ``ref`` and the splits of its dataset (or ``dataset``)."""
    from aezoo.api.evaluate import run_splits
    from aezoo.api.load import load_run

    model = load_run(ref, home)
    return model, run_splits(model, dataset, data_dir)


HOME_OPTION = click.option("--home", type=click.Path(file_okay=False), envvar="AEZOO_HOME",
                           help="Registry folder [default: $AEZOO_HOME or $XDG_DATA_HOME/aezoo].")


def out_path(output: str | None, model: Any, what: str, *options: str | None, suffix: str = ".png") -> Path:
    """``-o`` or the default ``RUNID-WHAT[-OPTION...].png``: every option that changes the figure is in the name,
    so figures made with different options never overwrite each other."""
    name = "-".join([model.run.id, what, *[o for o in options if o]])
    path = Path(output) if output else Path(name + suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def unless(value: Any, default: Any, text: str) -> str | None:
    """``text`` when ``value`` differs from its default (a part of a default file name), else None."""
    return None if value == default else text


@dataclass(frozen=True)
class Look:
    """How a figure command draws and saves: ``--title`` (None: the figure's own, naming the run), ``--dpi``
    and ``--style``."""

    title: str | None = None
    dpi: int = 100
    style: str = "notebook"


def emit(figures: Sequence[tuple[Any, Path]], as_json: bool, dpi: int = 100) -> None:
    """Save each Figure to its path, then print the files and the test images used (with their labels), or all
    of it as JSON (``files``, ``images``, ``titles``, ``style``, ``dpi`` and what the figures measured)."""
    paths = [fig.save(path, dpi=dpi) for fig, path in figures]
    picks = [p for fig, _ in figures for p in fig.picks]
    info: dict[str, Any] = {}
    for fig, _ in reversed(figures):
        info.update(fig.info)
    if as_json:
        out = {"files": [str(p) for p in paths], "images": [p.as_dict() for p in picks],
               "titles": [" ".join(fig.get_suptitle().split()) for fig, _ in figures], "style": figures[0][0].style,
               "dpi": dpi, **info}
        click.echo(json.dumps(out, indent=2, default=str))
        return
    for line in [f"wrote {p}" for p in paths] + [p.describe() for p in picks]:
        click.echo(line)


STYLE_OPTION = click.option("--style", type=click.Choice(list(SCALES)), default="notebook",
                            show_default=True, help="Size of every font and line: talk is 1.5x notebook (a lecture "
                                                    "hall), poster 2x, paper 0.8x.")


def figure_command(name: str, help_text: str, picks: bool = True) -> Callable:
    """Decorator: a click command taking REF, -o/--output, --dataset, --data-dir, --json, --home, and --title,
    --dpi, --style, which reach the command as ``look`` (a Look); the command runs inside the style."""

    def wrap(func: Callable) -> click.Command:
        @functools.wraps(func)
        def run(*args: Any, title: str | None, dpi: int, style: str, **kwargs: Any) -> Any:
            from aezoo.viz.styles import style as drawn_in

            with drawn_in(style):
                return func(*args, look=Look(title, dpi, style), **kwargs)

        run = click.option("--title", default=None, help="Title of the figure [default: the run and what is "
                                                         "shown].")(run)
        run = click.option("--dpi", type=click.IntRange(min=10, max=1200), default=100, show_default=True,
                           help="Pixels per inch of the PNG.")(run)
        run = STYLE_OPTION(run)
        run = click.option("--json", "as_json", is_flag=True,
                           help="Print the files written and the test images used (indices, labels) as JSON.")(run)
        run = click.option("-o", "--output", type=click.Path(dir_okay=False), help="PNG file to write.")(run)
        run = click.option("--dataset", help="Take images from this dataset instead of the run's own.")(run)
        run = click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")(run)
        run = HOME_OPTION(run)
        run = click.argument("ref")(run)
        return click.command(name, help=help_text + (PICKS_HELP if picks else ""))(run)

    return wrap


PICKS_HELP = ("\n\nTest images are picked seeded and spread across classes (one per class, then more), the same for "
              "every run of a dataset; the command prints which it used and their labels.")
