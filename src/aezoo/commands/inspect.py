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
    from aezoo.api import load
    from aezoo.evaluate import run_splits

    model = load(ref, home=home)
    return model, run_splits(model, dataset, data_dir)


def _out(output: str | None, model: Any, what: str, suffix: str = ".png") -> Path:
    path = Path(output) if output else Path(f"{model.run.id}-{what}{suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def figure_command(name: str, help_text: str) -> Callable:
    """Decorator: a click command taking REF, -o/--output, --dataset, --data-dir, --home."""

    def wrap(func: Callable) -> click.Command:
        func = click.option("-o", "--output", type=click.Path(dir_okay=False), help="PNG file to write.")(func)
        func = click.option("--dataset", help="Take images from this dataset instead of the run's own.")(func)
        func = click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")(func)
        func = HOME_OPTION(func)
        func = click.argument("ref")(func)
        return click.command(name, help=help_text)(func)

    return wrap


@click.command("eval")
@click.argument("ref")
@click.option("--dataset", help="Evaluate on this dataset's test split instead of the run's own.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")
@click.option("--iw-samples", type=click.IntRange(min=1), default=100, show_default=True,
              help="Importance samples per image for the log-likelihood estimate (models with a posterior density).")
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate on the first N test images only.")
@click.option("--no-save", is_flag=True, help="Do not write the results into the run's metrics.json.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@HOME_OPTION
def eval_cmd(ref: str, dataset: str | None, data_dir: str | None, iw_samples: int, limit: int | None,
             no_save: bool, as_json: bool, home: str | None) -> None:
    """Evaluate run REF on the held-out test split: reconstruction error, PSNR, KL, negative ELBO and
    importance-weighted NLL (nats per image), active latent units, a linear probe, compression ratio and
    class-conditional generation consistency. Results are saved into the run's metrics.json."""
    from aezoo.evaluate import evaluate_run

    metrics = evaluate_run(ref, dataset=dataset, data_dir=data_dir, iw_samples=iw_samples, limit=limit,
                           home=home, save=not no_save)
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
        return
    for key, value in metrics.items():
        if key == "test_latent_variances":
            continue
        if key == "test_not_applicable":  # one line per metric the model does not define, with the reason
            for metric, reason in value.items():
                click.echo(f"{'test_' + metric:28} n/a: {reason}")
            continue
        click.echo(f"{key:28} {_shown(value)}")


def _shown(value: Any, digits: int = 4) -> str:
    """A metric as printed: floats rounded (``digits``), dicts as ``k=v`` pairs, anything else as it is."""
    if isinstance(value, dict):
        return " ".join(f"{k}={_shown(v, 3)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return str(value)


@figure_command("reconstruct", "Test images (top) above their reconstructions (bottom).")
@click.option("-n", "count", type=click.IntRange(min=1), default=16, show_default=True)
def reconstruct_cmd(ref, output, dataset, data_dir, home, count):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    click.echo(f"wrote {views.reconstruction(model, splits, _out(output, model, 'reconstruct'), count)}")


@figure_command("latent", "The latent space coloured by label: direct for a 2-D latent (plus the decoded grid "
                          "over the plane), else t-SNE or PCA.")
@click.option("--method", type=click.Choice(["auto", "tsne", "pca", "direct"]), default="auto", show_default=True)
@click.option("--limit", type=click.IntRange(min=10), default=2000, show_default=True, help="Test images to map.")
def latent_cmd(ref, output, dataset, data_dir, home, method, limit):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    for path in views.latent(model, splits, _out(output, model, "latent"), method=method, limit=limit):
        click.echo(f"wrote {path}")


@figure_command("sample", "Decoded draws from the model's prior, or from a density fitted to its training codes for "
                          "models whose training does not shape the prior (--sampler); with --like INDEX, images "
                          "like test image INDEX.")
@click.option("-n", "count", type=click.IntRange(min=1), default=None, help="How many [default: 64, 10 with --like].")
@click.option("--like", "like", type=int, default=None, help="Index of a test image to draw variations of.")
@click.option("--sampler", type=click.Choice(["prior", "gaussian", "gmm", "categorical"]), default=None,
              help="What to draw codes from: the model's prior, or a Gaussian / Gaussian mixture / per-position "
                   "categorical (VQ) fitted to its training codes [default: the model's own choice].")
@click.option("--seed", type=int, default=0, show_default=True)
def sample_cmd(ref, output, dataset, data_dir, home, count, like, sampler, seed):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    if like is None:
        chosen = sampler or model.sampler
        if chosen != "prior" and sampler is None:
            names = {"gaussian": "a Gaussian", "gmm": "a Gaussian mixture", "categorical": "per-position code frequencies"}
            click.echo(f"note: {model.run.model}'s training does not shape its latent space towards a prior, so samples "
                       f"come from {names[chosen]} fitted to its training codes (--sampler prior draws from "
                       f"{model.prior.title} anyway)", err=True)
        suffix = "samples" if sampler is None else f"samples-{sampler}"
        path = views.samples(model, splits, _out(output, model, suffix), n=count or 64, seed=seed, sampler=sampler)
    else:
        path = views.samples_like(model, splits, _out(output, model, f"like-{like}"), like, n=count or 10, seed=seed)
    click.echo(f"wrote {path}")


@figure_command("generate", "Images of class LABEL, from a Gaussian fitted to that class's codes.")
@click.option("--label", type=int, required=True, help="The class to generate (an integer label).")
@click.option("-n", "count", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def generate_cmd(ref, output, dataset, data_dir, home, label, count, seed):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    path = views.class_samples(model, splits, _out(output, model, f"class-{label}"), label, n=count, seed=seed)
    click.echo(f"wrote {path}")


@figure_command("interpolate", "Decodes the latent path between test images --from and --to.")
@click.option("--from", "start", type=int, required=True, help="Index of the first test image.")
@click.option("--to", "end", type=int, required=True, help="Index of the last test image.")
@click.option("--steps", type=click.IntRange(min=2), default=10, show_default=True)
@click.option("--slerp", is_flag=True, help="Spherical instead of linear interpolation.")
def interpolate_cmd(ref, output, dataset, data_dir, home, start, end, steps, slerp):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    path = views.interpolation(model, splits, _out(output, model, f"interpolate-{start}-{end}"), start, end,
                               steps, slerp)
    click.echo(f"wrote {path}")


def _restoration(ref, output, dataset, data_dir, home, kind, level, count, inpainting):
    from aezoo import views

    model, splits = _open(ref, home, dataset, data_dir)
    what = "inpaint" if inpainting else "denoise"
    path, errors = views.restoration(model, splits, _out(output, model, what), kind, level, count, inpainting)
    click.echo(f"wrote {path}")
    click.echo(f"MSE vs clean: corrupted {errors['corrupted_mse']:.4f} -> restored {errors['restored_mse']:.4f}; "
               f"PSNR {errors['corrupted_psnr']:.2f} -> {errors['restored_psnr']:.2f} dB")


@figure_command("denoise", "Noisy test images, the model's restoration and the clean originals.")
@click.option("--noise", type=click.Choice(["gaussian", "salt-pepper"]), default="gaussian", show_default=True)
@click.option("--level", type=click.FloatRange(min=0), default=0.3, show_default=True,
              help="Noise std (gaussian) or fraction of pixels (salt-pepper).")
@click.option("-n", "count", type=click.IntRange(min=1), default=8, show_default=True)
def denoise_cmd(ref, output, dataset, data_dir, home, noise, level, count):
    _restoration(ref, output, dataset, data_dir, home, noise, level, count, inpainting=False)


@figure_command("inpaint", "Test images with dropped pixels or a masked block, the model's fill-in and the originals.")
@click.option("--mask", type=click.Choice(["pixels", "block"]), default="block", show_default=True)
@click.option("--level", type=click.FloatRange(min=0, max=1), default=0.4, show_default=True,
              help="Drop probability (pixels) or block side as a fraction of the image (block).")
@click.option("-n", "count", type=click.IntRange(min=1), default=8, show_default=True)
def inpaint_cmd(ref, output, dataset, data_dir, home, mask, level, count):
    _restoration(ref, output, dataset, data_dir, home, mask, level, count, inpainting=True)


@figure_command("report", "One self-contained HTML page: config, training curves, metrics and every figure "
                          "that applies to the model.")
def report_cmd(ref, output, dataset, data_dir, home):
    import tempfile

    from aezoo import figures, views
    from aezoo.report import write_report

    model, splits = _open(ref, home, dataset, data_dir)
    path = _out(output, model, "report", ".html")
    record = model.run
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        figs: dict[str, Path] = {}
        history = record.history if (record.path / "history.json").is_file() else []
        if history:
            figs["Training curves"] = figures.curves_figure(history, t / "curves.png")
        figs["Reconstructions"] = views.reconstruction(model, splits, t / "reconstruct.png")
        for i, p in enumerate(views.latent(model, splits, t / "latent.png")):
            figs["Latent space" if i == 0 else "Decoded latent grid"] = p
        figs["Samples"] = views.samples(model, splits, t / "samples.png")
        figs["Samples like test image 0"] = views.samples_like(model, splits, t / "like.png", 0)
        if splits.has_labels:
            figs["Generated from class 0"] = views.class_samples(model, splits, t / "class.png", 0)
        figs["Interpolation"] = views.interpolation(model, splits, t / "interp.png", 0, min(1, len(splits.test) - 1))
        figs["Denoising"] = views.restoration(model, splits, t / "denoise.png", "gaussian", 0.3)[0]
        figs["Inpainting"] = views.restoration(model, splits, t / "inpaint.png", "block", 0.4, inpainting=True)[0]
        write_report(path, f"aezoo run {record.id}", record.config, record.metrics, figs, history)
    click.echo(f"wrote {path}")


COMMANDS = [eval_cmd, reconstruct_cmd, latent_cmd, sample_cmd, generate_cmd, interpolate_cmd, denoise_cmd,
            inpaint_cmd, report_cmd]
