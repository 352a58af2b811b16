"""What the commands share: ``--set KEY=VALUE`` and TOML values parsed into the types a model's defaults have,
the ``--home`` option, the figure commands' common options and output, opening the run a command names, and
text made safe to print."""
from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any, Callable

import click


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


def printable(value: object) -> str:
    """``str(value)`` with control characters (terminal escape sequences, newlines) shown escaped."""
    text = str(value)
    return "".join(ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def check_run(ref: str, home: str | None = None, dataset: str | None = None, **_: Any) -> None:
    """Run ``ref`` exists, and so does the dataset its images will come from (``dataset``, else the run's own):
    checked without torch or data, so a typo fails in a fraction of a second, not after seconds of loading."""
    from aezoo.api.checks import check_dataset, find_run

    config = find_run(ref, home)
    if dataset or config.get("dataset"):
        check_dataset(dataset or config["dataset"])


def check_compared(refs: tuple[str, ...], train_first: bool, dataset: str | None, home: str | None,
                   **_: Any) -> None:
    """``zoo compare``'s model names (``--train``) or run references, and its dataset, checked as ``check_run``."""
    from aezoo.api.catalog import model_spec
    from aezoo.api.checks import check_dataset

    for ref in refs:
        if train_first:
            model_spec(ref)
        else:
            check_run(ref, home, dataset)
    if train_first or dataset:
        check_dataset(dataset or "digits")


def heavy_command(check: Callable[..., None] = check_run, work: str = "evaluation and figures") -> Callable:
    """Decorator over a click command that loads a model or data: ``check(**params)`` runs first (torch-free:
    what the command names, so a typo fails at once), then the command's own code inside ``cpu_threads`` at the
    thread policy's count, which ``--threads N`` (added here) sets."""
    from functools import wraps

    def wrap(command: click.Command) -> click.Command:
        body = command.callback

        @wraps(body)
        def callback(*args: Any, threads: int | None = None, **params: Any) -> Any:
            from aezoo.core.runtime.threads import cpu_threads

            check(**params)
            with cpu_threads(threads):
                return body(*args, **params)

        command.callback = callback
        command.params.append(click.Option(
            ["--threads"], type=click.IntRange(min=1), default=None,
            help=f"CPU threads for {work} [default: OMP_NUM_THREADS if set, else as many as CPUs are idle now, "
                 "at most the CPUs this process may use]."))
        return command

    return wrap


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


def emit(shown: Any, as_json: bool) -> None:
    """Print a figure's files and the test images it used (with their labels), or all of it as JSON."""
    if as_json:
        click.echo(json.dumps(shown.as_dict(), indent=2, default=str))
        return
    for line in shown.lines():
        click.echo(line)


def figure_command(name: str, help_text: str, picks: bool = True) -> Callable:
    """Decorator: a click command taking REF, -o/--output, --dataset, --data-dir, --json, --home."""

    def wrap(func: Callable) -> click.Command:
        func = click.option("--json", "as_json", is_flag=True,
                            help="Print the files written and the test images used (indices, labels) as JSON.")(func)
        func = click.option("-o", "--output", type=click.Path(dir_okay=False), help="PNG file to write.")(func)
        func = click.option("--dataset", help="Take images from this dataset instead of the run's own.")(func)
        func = click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")(func)
        func = HOME_OPTION(func)
        func = click.argument("ref")(func)
        return click.command(name, help=help_text + (PICKS_HELP if picks else ""))(func)

    return wrap


PICKS_HELP = ("\n\nTest images are picked seeded and spread across classes (one per class, then more), the same for "
              "every run of a dataset; the command prints which it used and their labels.")
