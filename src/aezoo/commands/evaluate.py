"""``zoo eval``: a run's test-split metrics, printed and saved into the run."""
from __future__ import annotations

import json
import math
from typing import Any

import click

from aezoo.commands.options import HOME_OPTION, open_run


@click.command("eval")
@click.argument("ref")
@click.option("--dataset", help="Evaluate on this dataset's test split instead of the run's own.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")
@click.option("--iw-samples", type=click.IntRange(min=1), default=100, show_default=True,
              help="Importance samples per image for the log-likelihood estimate (models with a posterior density).")
@click.option("--elbo-samples", type=click.IntRange(min=1), default=1, show_default=True,
              help="Posterior draws per image averaged in the negative ELBO (and a Monte-Carlo KL).")
@click.option("--binarize", type=click.Choice(["none", "dynamic", "static"]), default=None,
              help="0/1 test pixels for a Bernoulli likelihood: dynamic (drawn per evaluation, seeded) or static "
                   "(drawn once, fixed seed) [default: as the run was trained].")
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate on the first N test images only.")
@click.option("--no-save", is_flag=True, help="Do not write the results into the run's metrics.json.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the notes go to stderr).")
@HOME_OPTION
def eval_cmd(ref: str, dataset: str | None, data_dir: str | None, iw_samples: int, elbo_samples: int,
             binarize: str | None, limit: int | None, no_save: bool, as_json: bool, home: str | None) -> None:
    """Evaluate run REF on the held-out test split: reconstruction error, PSNR, KL, negative ELBO and
    importance-weighted NLL (nats per image), active latent units, a linear probe, compression ratio and
    class-conditional generation consistency. Results are saved into the run's metrics.json.

    \b
    Paper-comparable likelihoods (Burda et al. 2015 on binarised MNIST):
      zoo train vae --dataset mnist --binarize dynamic
      zoo eval vae --binarize dynamic --iw-samples 5000
    """
    from aezoo.api.evaluate import evaluate_and_save, in_registry
    from aezoo.registry import Registry

    model, splits = open_run(ref, home, dataset, data_dir)
    saving = not no_save and in_registry(model, Registry(home))
    metrics = evaluate_and_save(model, splits, iw_samples=iw_samples, limit=limit, home=home, save=saving,
                                elbo_samples=elbo_samples, binarize=binarize)
    resolved = "" if ref == model.run.id else f" (resolved from {ref!r})"
    pixels = metrics.get("test_binarize", "none")
    click.echo(f"evaluated {model.run.id}{resolved} on the test split of {splits.name} "
               f"({metrics['test_n_images']} images" + (f", pixels binarised {pixels}" if pixels != "none" else "")
               + ")", err=as_json)
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
    from aezoo.core.diagnosis import warnings

    for warning in warnings(metrics):
        click.echo(f"warning: {warning}", err=True)
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
