"""``zoo eval`` and the figure commands: reconstruct, latent, sample, generate, interpolate, denoise,
inpaint and report. Each takes a run reference and writes PNG (or HTML) files, printing where."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import click

from aezoo.commands.runs import HOME_OPTION


def _open(ref: str, home: str | None, dataset: str | None = None, data_dir: str | None = None):
    from aezoo.commands.open_run import open_run

    return open_run(ref, home, dataset, data_dir)


def _out(output: str | None, model: Any, what: str, *options: str | None, suffix: str = ".png") -> Path:
    """``-o`` or the default ``RUNID-WHAT[-OPTION...].png``: every option that changes the figure is in the name,
    so figures made with different options never overwrite each other."""
    name = "-".join([model.run.id, what, *[o for o in options if o]])
    path = Path(output) if output else Path(name + suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _unless(value: Any, default: Any, text: str) -> str | None:
    """``text`` when ``value`` differs from its default (a part of a default file name), else None."""
    return None if value == default else text


def _emit(shown: Any, as_json: bool) -> None:
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


@click.command("eval")
@click.argument("ref")
@click.option("--dataset", help="Evaluate on this dataset's test split instead of the run's own.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")
@click.option("--iw-samples", type=click.IntRange(min=1), default=100, show_default=True,
              help="Importance samples per image for the log-likelihood estimate (models with a posterior density).")
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate on the first N test images only.")
@click.option("--no-save", is_flag=True, help="Do not write the results into the run's metrics.json.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the notes go to stderr).")
@HOME_OPTION
def eval_cmd(ref: str, dataset: str | None, data_dir: str | None, iw_samples: int, limit: int | None,
             no_save: bool, as_json: bool, home: str | None) -> None:
    """Evaluate run REF on the held-out test split: reconstruction error, PSNR, KL, negative ELBO and
    importance-weighted NLL (nats per image), active latent units, a linear probe, compression ratio and
    class-conditional generation consistency. Results are saved into the run's metrics.json."""
    from aezoo.evaluate import evaluate_and_save, in_registry
    from aezoo.registry import Registry

    model, splits = _open(ref, home, dataset, data_dir)
    saving = not no_save and in_registry(model, Registry(home))
    metrics = evaluate_and_save(model, splits, iw_samples=iw_samples, limit=limit, home=home, save=saving)
    resolved = "" if ref == model.run.id else f" (resolved from {ref!r})"
    click.echo(f"evaluated {model.run.id}{resolved} on the test split of {splits.name} "
               f"({metrics['test_n_images']} images)", err=as_json)
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
    else:
        for key, value in metrics.items():
            if key == "test_latent_variances":
                continue
            if key == "test_not_applicable":  # one line per metric the model does not define, with the reason
                for metric, reason in value.items():
                    click.echo(f"{'test_' + metric:28} n/a: {reason}")
                continue
            click.echo(f"{key:28} {_shown(value)}")
    where = model.run.path / "metrics.json"
    click.echo(f"saved the metrics into {where}" if saving else
               "metrics not saved (" + ("--no-save" if no_save else "an exported folder is read-only") + ")",
               err=as_json)


def _shown(value: Any, digits: int = 4) -> str:
    """A metric as printed: floats rounded (``digits``), dicts as ``k=v`` pairs, anything else as it is."""
    if isinstance(value, dict):
        return " ".join(f"{k}={_shown(v, 3)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return str(value)


@figure_command("reconstruct", "Test images (top, with their classes) above their reconstructions (bottom).")
@click.option("-n", "count", type=click.IntRange(min=1), default=16, show_default=True)
def reconstruct_cmd(ref, output, dataset, data_dir, home, as_json, count):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    path = _out(output, model, "reconstruct", _unless(count, 16, f"n{count}"))
    _emit(views.reconstruction(model, splits, path, count), as_json)


@figure_command("latent", "The latent space coloured by label: direct for a 2-D latent (plus the decoded grid over "
                          "the region the codes occupy), else t-SNE or PCA.", picks=False)
@click.option("--method", type=click.Choice(["auto", "tsne", "pca", "direct"]), default="auto", show_default=True)
@click.option("--limit", type=click.IntRange(min=10), default=2000, show_default=True,
              help="Test images to map (a seeded subset spread across classes when the split is larger).")
def latent_cmd(ref, output, dataset, data_dir, home, as_json, method, limit):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    path = _out(output, model, "latent", _unless(method, "auto", method), _unless(limit, 2000, f"limit{limit}"))
    _emit(views.latent(model, splits, path, method=method, limit=limit), as_json)


@figure_command("sample", "Decoded draws from the model's prior, or from a density fitted to its training codes for "
                          "models whose training does not shape the prior (--sampler); with --like INDEX, images "
                          "like test image INDEX.", picks=False)
@click.option("-n", "count", type=click.IntRange(min=1), default=None, help="How many [default: 64, 10 with --like].")
@click.option("--like", "like", type=int, default=None, help="Index of a test image to draw variations of.")
@click.option("--sampler", type=click.Choice(["prior", "gaussian", "gmm", "categorical"]), default=None,
              help="What to draw codes from: the model's prior, or a Gaussian / Gaussian mixture / per-position "
                   "categorical (VQ) fitted to its training codes [default: the model's own choice].")
@click.option("--seed", type=int, default=0, show_default=True)
def sample_cmd(ref, output, dataset, data_dir, home, as_json, count, like, sampler, seed):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    options = (_unless(count, None, f"n{count}"), _unless(seed, 0, f"seed{seed}"))
    if like is None:
        chosen = sampler or model.sampler
        if chosen != "prior" and sampler is None:
            names = {"gaussian": "a Gaussian", "gmm": "a Gaussian mixture", "categorical": "per-position code frequencies"}
            click.echo(f"note: {model.run.model}'s training does not shape its latent space towards a prior, so samples "
                       f"come from {names[chosen]} fitted to its training codes (--sampler prior draws from "
                       f"{model.prior.title} anyway)", err=True)
        elif chosen == "prior":
            click.echo(f"note: codes drawn from {model.prior.title}", err=True)
        path = _out(output, model, "samples", sampler, *options)
        shown = views.samples(model, splits, path, n=count or 64, seed=seed, sampler=sampler)
    else:
        path = _out(output, model, f"like-{like}", *options)
        shown = views.samples_like(model, splits, path, like, n=count or 10, seed=seed)
    _emit(shown, as_json)


def _label(value: str) -> int | None:
    if value == "all":
        return None
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a class label: give an integer label or 'all'") from None


@figure_command("generate", "Images of class LABEL (or of every class, one row each, with --label all) from a "
                            "Gaussian fitted to that class's training codes.", picks=False)
@click.option("--label", required=True, help="The class to generate: an integer label, or 'all'.")
@click.option("-n", "count", type=click.IntRange(min=1), default=None,
              help="Images per class [default: 16, 10 with --label all].")
@click.option("--seed", type=int, default=0, show_default=True)
def generate_cmd(ref, output, dataset, data_dir, home, as_json, label, count, seed):
    from aezoo import views

    chosen = _label(label)
    model, splits = _open(ref, home, dataset, data_dir)
    path = _out(output, model, f"class-{label}", _unless(count, None, f"n{count}"), _unless(seed, 0, f"seed{seed}"))
    default = 16 if chosen is not None else 10
    _emit(views.class_samples(model, splits, path, chosen, n=count or default, seed=seed), as_json)


@figure_command("interpolate", "Decodes the latent path between two test images (--from, --to; default: a seeded "
                               "pair of different classes), with the two originals at both ends.")
@click.option("--from", "start", type=int, default=None, help="Index of the first test image.")
@click.option("--to", "end", type=int, default=None, help="Index of the last test image.")
@click.option("--steps", type=click.IntRange(min=2), default=10, show_default=True)
@click.option("--slerp", is_flag=True, help="Spherical instead of linear interpolation.")
@click.option("--pairs", "count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Rows of seeded pairs when --from/--to are not given.")
def interpolate_cmd(ref, output, dataset, data_dir, home, as_json, start, end, steps, slerp, count):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    which = f"{start}-{end}" if start is not None and end is not None else _unless(count, 1, f"pairs{count}")
    path = _out(output, model, "interpolate", which, _unless(steps, 10, f"steps{steps}"), "slerp" if slerp else None)
    _emit(views.interpolation(model, splits, path, start, end, steps, slerp, count), as_json)


def _restoration(ref, output, dataset, data_dir, home, as_json, kind, level, count, inpainting):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    kind, level, trained = views.corruption_for(model, inpainting, kind, level)
    what = "inpaint" if inpainting else "denoise"
    path = _out(output, model, what, kind, f"{level:g}", _unless(count, 8, f"n{count}"))
    shown = views.restoration(model, splits, path, kind, level, count, inpainting)
    if as_json:
        _emit(shown, True)
        return
    _emit(shown, False)
    errors = shown.info["errors"]
    own = "the model's own training corruption" if trained else "not what the model was trained on"
    click.echo(f"{kind} {level:g} ({own}); MSE vs clean: corrupted {errors['corrupted_mse']:.4f} -> restored "
               f"{errors['restored_mse']:.4f}; PSNR {errors['corrupted_psnr']:.2f} -> {errors['restored_psnr']:.2f} dB")


@figure_command("denoise", "Noisy test images, the model's restoration and the clean originals; by default with the "
                           "noise and level the run was trained on.")
@click.option("--noise", type=click.Choice(["gaussian", "salt-pepper"]), default=None,
              help="Noise kind [default: the run's own, else gaussian].")
@click.option("--level", type=click.FloatRange(min=0), default=None,
              help="Noise std (gaussian) or fraction of pixels (salt-pepper) [default: the run's own, else 0.3 "
                   "(gaussian) or 0.2 (salt-pepper)].")
@click.option("-n", "count", type=click.IntRange(min=1), default=8, show_default=True)
def denoise_cmd(ref, output, dataset, data_dir, home, as_json, noise, level, count):
    _restoration(ref, output, dataset, data_dir, home, as_json, noise, level, count, inpainting=False)


@figure_command("inpaint", "Test images with dropped pixels or a masked block, the model's fill-in and the "
                           "originals; by default with the mask and level the run was trained on.")
@click.option("--mask", type=click.Choice(["pixels", "block"]), default=None,
              help="Mask kind [default: the run's own, else block].")
@click.option("--level", type=click.FloatRange(min=0, max=1), default=None,
              help="Drop probability (pixels) or block side as a fraction of the image (block) [default: the run's "
                   "own, else 0.5 (pixels) or 0.4 (block)].")
@click.option("-n", "count", type=click.IntRange(min=1), default=8, show_default=True)
def inpaint_cmd(ref, output, dataset, data_dir, home, as_json, mask, level, count):
    _restoration(ref, output, dataset, data_dir, home, as_json, mask, level, count, inpainting=True)


@figure_command("traverse", "Latent traversals: the most used latent dimensions (by their KL to N(0, 1) for a Gaussian "
                            "posterior under the N(0, I) prior, else by the variance of their codes), each swept over the range of the test codes "
                            "with the others fixed at one test image's code.")
@click.option("--dims", type=click.IntRange(min=1), default=8, show_default=True, help="Dimensions to show.")
@click.option("--steps", type=click.IntRange(min=2), default=9, show_default=True)
@click.option("--image", "index", type=int, default=None, help="Index of the test image whose code is the base.")
def traverse_cmd(ref, output, dataset, data_dir, home, as_json, dims, steps, index):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    path = _out(output, model, "traverse", _unless(index, None, f"image{index}"), _unless(dims, 8, f"dims{dims}"),
                _unless(steps, 9, f"steps{steps}"))
    _emit(views.traversal(model, splits, path, dims, steps, index), as_json)


@click.command("report")
@click.argument("ref")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="HTML file to write [default: RUNID-report.html].")
@click.option("--dataset", help="Take images from this dataset instead of the run's own.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")
@click.option("--open", "open_page", is_flag=True, help="Open the page in the web browser.")
@HOME_OPTION
def report_cmd(ref, output, dataset, data_dir, open_page, home):
    """One self-contained HTML page: test metrics (evaluated first when the run has none), training curves, every
    figure that applies to the model, and its configuration. Test images are seeded picks spread across classes."""
    from aezoo.run_report import build_report

    model, splits = _open(ref, home, dataset, data_dir)
    path = _out(output, model, "report", suffix=".html")
    build_report(model, splits, path, home=home, say=lambda line: click.echo(line, err=True))
    click.echo(f"wrote {path}")
    if open_page:
        click.launch(str(path.resolve()))


COMMANDS = [eval_cmd, reconstruct_cmd, latent_cmd, sample_cmd, generate_cmd, interpolate_cmd, denoise_cmd,
            inpaint_cmd, traverse_cmd, report_cmd]
