"""``zoo train``: train a model on a dataset and save the run into the registry."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from typing import Any

import click

from aezoo.commands.options import check_option, check_value, parse_sets, read_regular_file

TRAIN_KEYS = ("epochs", "batch_size", "lr", "schedule", "optimizer", "seed", "device", "precision", "patience",
              "compile", "profile", "binarize")
MAX_CONFIG_BYTES = 1 << 20  # a --config file is a few lines of TOML
FILE_KEYS = ("model", "dataset", "data_dir", "download", "latent_dim", "name", "hyperparameters", *TRAIN_KEYS)


def _launch_torchrun(nproc: int) -> int:
    """Run this same command under torchrun with ``nproc`` processes; returns its exit code."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            args.append(arg)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "aezoo", *args]
    click.echo(f"launching {nproc} processes: torchrun --standalone --nproc-per-node={nproc} -m aezoo "
               + " ".join(args), err=True)
    return subprocess.call(cmd)


def _read_config(path: str | None, ctx: click.Context) -> dict[str, Any]:
    """The TOML file's values, each checked as its command-line option would check it."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(read_regular_file(path, MAX_CONFIG_BYTES, "--config").decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                 "save it as UTF-8", param_hint="--config") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--config") from None
    except RecursionError:
        raise click.BadParameter(f"cannot read {path}: arrays or tables nested too deeply",
                                 param_hint="--config") from None
    unknown = sorted(set(data) - set(FILE_KEYS))
    if unknown:
        raise click.BadParameter(f"{path}: unknown keys {', '.join(unknown)}; valid: {', '.join(FILE_KEYS)}",
                                 param_hint="--config")
    params = {p.name: p for p in ctx.command.params}
    for key, value in data.items():
        if key == "hyperparameters":
            if not isinstance(value, dict):
                raise click.BadParameter(f"{path}: hyperparameters must be a table ([hyperparameters])",
                                         param_hint="--config")
        elif key == "model":
            if not isinstance(value, str):
                raise click.BadParameter(f"{path}: model = {value!r}: expected a string", param_hint="--config")
        else:
            data[key] = check_option(params[key], value, str(path), ctx)
    return data


WITH_RESUME = ("resume", "home", "log", "nproc")  # what --resume uses; every other setting comes from the checkpoint


def _refuse_ignored_with_resume(ctx: click.Context, model: str | None) -> None:
    """--resume continues with the settings the run started with: refuse options it would ignore, naming them."""
    given = [f"MODEL ({model})"] if model else []
    given += [p.opts[0] for p in ctx.command.params if p.name not in WITH_RESUME and p.name in ctx.params
              and ctx.get_parameter_source(p.name) not in (click.core.ParameterSource.DEFAULT, None)
              and p.opts and p.opts[0].startswith("--")]
    if given:
        raise click.UsageError(f"--resume continues a run with the settings it started with, so {', '.join(given)} "
                               "would be ignored; leave them out (only --home, --log and --nproc go with --resume), "
                               "or start a new run")


@click.command("train")
@click.argument("model", required=False)
@click.option("--dataset", default="digits", show_default=True,
              help="A dataset from `zoo datasets`: digits, mnist, fashion-mnist, kmnist, cifar10, npz:PATH, "
                   "folder:PATH, ...")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder with the dataset's files.")
@click.option("--download", is_flag=True, help="Let torchvision download the dataset (needs network).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Passes over the training data [default: 10, or ~4000 steps' worth on small data like digits].")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Learning rate.")
@click.option("--schedule", type=click.Choice(["constant", "cosine"]), default="constant", show_default=True,
              help="Learning rate over training: cosine decay to 0, or constant.")
@click.option("--optimizer", type=click.Choice(["adam", "adamw", "sgd", "rmsprop"]), default="adam",
              show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Same seed, data and device give bit-identical weights.")
@click.option("--device", default="auto", show_default=True, help="auto (cuda, then mps, then cpu), cpu, cuda, mps.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto", show_default=True,
              help="auto: bf16 where the device runs it natively (CPUs with AVX512-BF16 or AMX, GPUs with bf16), "
                   "else fp32. The run records what was used.")
@click.option("--compile", is_flag=True, help="torch.compile the encoder and decoder (compile time reported apart).")
@click.option("--profile", is_flag=True, help="Print where training time went: data, forward, backward, optimiser, "
                                              "bookkeeping, validation, checkpoints.")
@click.option("--log", "log", multiple=True, metavar="TRACKER[:ARG]",
              help="Send metrics, images and checkpoints to a tracker: tensorboard[:DIR], mlflow[:URI], or a "
                   "plugin's; repeatable.")
@click.option("--binarize", type=click.Choice(["none", "dynamic", "static"]), default="none", show_default=True,
              help="Train on 0/1 pixels, as the likelihood papers do: dynamic (each image drawn anew, pixel ~ "
                   "Bernoulli(intensity), every time it is seen) or static (drawn once per dataset, fixed seed). "
                   "The run records it; `zoo eval` then binarises the test images alike.")
@click.option("--patience", type=click.IntRange(min=1), default=None,
              help="Stop early after this many epochs without a better validation loss.")
@click.option("--latent-dim", type=click.IntRange(min=1), default=None, help="Size of the latent code.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Any model hyperparameter; repeatable.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True),
              help="TOML file with any of these options (command-line flags win).")
@click.option("--name", help="A name for the run (letters, digits, - _ .).")
@click.option("--resume", metavar="CHECKPOINT", help="Continue an interrupted run exactly where it stopped.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train with this many processes (DistributedDataParallel, launched through torchrun).")
@click.option("--home", type=click.Path(file_okay=False), help="Registry folder (default: $AEZOO_HOME).")
@click.pass_context
def train_cmd(ctx: click.Context, model: str | None, sets: tuple[str, ...], config_file: str | None,
              resume: str | None, home: str | None, nproc: int, log: tuple[str, ...], **options: Any) -> None:
    """Train MODEL (see `zoo list`) and save it into the registry.

    \b
    Examples:
      zoo train conv-vae
      zoo train vae --dataset fashion-mnist --epochs 5 --set hidden=256,128
      zoo train --resume conv-vae-20261125-101500-ab12
    """
    if nproc > 1 and "WORLD_SIZE" not in os.environ:
        ctx.exit(_launch_torchrun(nproc))
    from aezoo.api.catalog import model_spec
    from aezoo.core.events import ConsoleProgress
    from aezoo.core.runtime.memory import keep_freed_memory
    from aezoo.registry import Registry

    keep_freed_memory()  # this process only trains: let freed activations be reused (see core/runtime/memory.py)
    registry = Registry(home)
    progress = ConsoleProgress(echo=lambda line: click.echo(line, err=True))
    if resume:
        _refuse_ignored_with_resume(ctx, model)
        from aezoo.api.train import train

        record = train("", resume=resume, registry=registry, progress=progress, log=log).run
        if record is not None:  # None on the other processes of a distributed run
            click.echo(f"saved run {record.id} to {record.path}")
        return
    file_values = _read_config(config_file, ctx)
    for key, value in file_values.items():  # file values apply where the flag was not given
        if key in options and ctx.get_parameter_source(key) == click.core.ParameterSource.DEFAULT:
            options[key] = value
    model = model or file_values.get("model")
    if not model:
        raise click.UsageError("give a MODEL to train (see `zoo list`) or --resume CHECKPOINT")
    spec = model_spec(model)
    defaults = spec.hyperparameters()
    hyperparameters = {k: check_value(k, v, defaults[k], f"{config_file} [hyperparameters]") if k in defaults else v
                       for k, v in file_values.get("hyperparameters", {}).items()}
    hyperparameters.update(parse_sets(sets, defaults, model))
    if options["latent_dim"] is not None:
        hyperparameters["latent_dim"] = options["latent_dim"]
    spec.check(hyperparameters)  # a bad name, key or value stops here, before torch is imported
    from aezoo.api.train import train
    from aezoo.core.trainer import TrainConfig

    config = TrainConfig(**{k: options[k] for k in TRAIN_KEYS})
    if os.environ.get("RANK", "0") == "0":
        click.echo(f"training {model} on {options['dataset']}", err=True)
    record = train(model, dataset=options["dataset"], data_dir=options["data_dir"], download=options["download"],
                   hyperparameters=hyperparameters, config=config, name=options["name"], registry=registry,
                   progress=progress, log=log).run
    if record is None:
        return
    best = record.metrics.get("val_loss")
    click.echo(f"saved run {record.id} to {record.path}" + (f" (val loss {best:.4f})" if best is not None else ""))
