"""Training wired together: data from the dataset plugins, a model from the model plugins, the core
Trainer, checkpoints in the registry's staging area, and the finished run saved into the registry."""
from __future__ import annotations

import json
import os
import secrets
import time
from contextlib import ExitStack
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from aezoo import __version__
from aezoo.api.build import create_model
from aezoo.api.catalog import load_dataset, model_spec, shadow_warning
from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checkpoint import state_from_parts, state_to_parts
from aezoo.core.diagnosis import after_training
from aezoo.core.events import Fanout, TrainingEvents
from aezoo.core.runtime.device import resolve_device
from aezoo.core.runtime.distributed import finish_distributed, init_distributed, same_everywhere
from aezoo.core.trainer import TrainConfig, Trainer, TrainingInterrupted, TrainResult, TrainState, closed_form
from aezoo.data.splits import Splits
from aezoo.errors import AezooError, TrainingError, UnknownNameError
from aezoo.plugins.specs import ModelSpec
from aezoo.registry import Registry, RunRecord, paths
from aezoo.registry.refs import validate_model_name
from aezoo.registry.store import CheckpointSavedError

CHECKPOINT_FILE = paths.CHECKPOINT
FLOAT32_MAX = 3.4028234663852886e38  # optimisers keep the learning rate in float32 tensors


class Interrupted(AezooError):
    """Training was stopped by Ctrl-C; a checkpoint was written."""

    def __init__(self, key: str, state: TrainState):
        super().__init__(
            f"interrupted in epoch {state.epoch + 1} after batch {state.batch}; checkpoint saved. "
            f"Resume with: zoo train --resume {key}"
        )
        self.key = key


def _write_checkpoint(directory: Path, spec: dict[str, Any], state: TrainState) -> None:
    """Write the checkpoint straight to a temp file beside its place (no second copy in memory), fsync it,
    then rename it into place."""
    import os
    import tempfile

    from safetensors.torch import save_file

    tensors, skeleton = state_to_parts(state)
    meta = {paths.CHECKPOINT_META: json.dumps({"spec": spec, "state": skeleton})}
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{CHECKPOINT_FILE}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, directory / CHECKPOINT_FILE)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, Exception) and not isinstance(exc, OSError):  # SafetensorError on a full disk
            raise OSError(f"cannot write checkpoint {directory / CHECKPOINT_FILE}: {exc}") from exc
        raise


def read_checkpoint(directory: Path) -> tuple[dict[str, Any], TrainState]:
    """The run specification and training state saved in a checkpoint folder."""
    from safetensors import safe_open

    path = directory / CHECKPOINT_FILE
    if not path.is_file():
        raise AezooError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), "pt") as f:
            meta = json.loads(f.metadata()[paths.CHECKPOINT_META])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        spec = meta["spec"]
        missing = [k for k in ("model", "dataset", "data_dir", "name", "hyperparameters", "train") if k not in spec]
        if missing:
            raise KeyError(", ".join(missing))
        return spec, state_from_parts(tensors, meta["state"])
    except Exception as exc:  # anything a damaged or foreign file gives
        raise AezooError(f"checkpoint {path} is unreadable ({type(exc).__name__}: {exc}); start the run "
                         "again") from exc


def train(model: str, *, dataset: str = "digits", data_dir: str | None = None, download: bool = False,
          hyperparameters: dict[str, Any] | None = None, config: TrainConfig | None = None,
          name: str | None = None, registry: Registry | None = None, progress: TrainingEvents | bool | None = None,
          resume: str | None = None, log: list[str] | tuple[str, ...] = (), trackers: list[TrainingEvents] = (),
          **options: Any):
    """Train ``model`` on ``dataset``, save the run into the registry and return the trained model in eval
    mode (its registry record is ``model.run``). Training settings come as ``config=TrainConfig(...)`` or as
    keywords (``epochs=5, lr=2e-3, ...``). ``resume`` is a checkpoint key printed when a run was
    interrupted; the rest of the arguments are then read from the checkpoint.

    ``progress``: None shows a progress bar (tqdm.auto: a widget in notebooks) and a short summary; False shows
    nothing; or any TrainingEvents. ``log``: tracker specs such as ``"tensorboard:runs"`` or ``"mlflow"``;
    ``trackers``: TrainingEvents objects of your own. All of them receive the same events.

    On Linux, CPU training runs faster after ``aezoo.core.runtime.memory.keep_freed_memory()`` (``zoo train``
    calls it): it retunes glibc's malloc for the whole process, so this function leaves that choice to you."""
    if resume is not None:
        given = {"dataset": dataset != "digits", "data_dir": data_dir is not None, "download": download,
                 "hyperparameters": bool(hyperparameters), "config": config is not None, "name": name is not None,
                 **dict.fromkeys(options, True)}
        _refuse_ignored_with_resume(resume, [k for k, v in given.items() if v])
    registry, config = registry or Registry(), _settings(config, options)
    with ExitStack() as held:  # the checkpoint folder is this process's until train() returns or fails
        if resume is not None:
            spec, state = _resumable(registry, resume, held)
            if model not in ("", spec["model"], spec.get("qualified_model")):
                raise AezooError(f"checkpoint {resume} is a run of {spec['model']!r}, not {model!r}; pass "
                                 "model='' (or its own model) with resume=")
            model, dataset, data_dir, name = spec.get("qualified_model", spec["model"]), spec["dataset"], \
                spec["data_dir"], spec["name"]
            hyperparameters, config, key = spec["hyperparameters"], TrainConfig(**spec["train"]), resume
        else:
            config.check()
            _check_name(registry, name)  # fail before training, not after
            shadow_warning(model)
            state, key = None, f"{model_spec(model).name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(8)}"
        _check_numbers(config)
        rank, world, key = _processes(config, key)
        splits = load_dataset(dataset, data_dir=data_dir, download=download)
        torch.manual_seed(config.seed)
        registration = model_spec(model)
        validate_model_name(run_model_name(registration))  # its runs' folder must be a safe name: check first
        hp = registration.check(hyperparameters or {})
        net = create_model(registration.qualified, input_shape=splits.input_shape, **hp)
        spec = {"model": run_model_name(registration), "qualified_model": registration.qualified,
                "dataset": splits.name, "data_dir": data_dir, "name": name, "hyperparameters": hp,
                "train": asdict(config)}
        events = _events(progress, log, trackers) if rank == 0 else TrainingEvents()
        trainer = _trainer(net, splits, config, spec, registry, key, events,
                           held if rank == 0 and resume is None else None)
        result = _fit(trainer, state, spec, registry, key, events)
        net.run = _save(trainer, result, spec, registry, key, events) if rank == 0 else None  # rank 0 alone saves
        finish_distributed(world)
    return net.eval()


def _settings(config: TrainConfig | None, options: dict[str, Any]) -> TrainConfig:
    """``config``, or a TrainConfig of the keywords given instead (or of the defaults); unknown keywords are
    a TypeError."""
    if not options:
        return config or TrainConfig()
    valid = [f.name for f in fields(TrainConfig)]
    unknown = sorted(set(options) - set(valid))
    if unknown or config is not None:
        problem = f"unknown settings {', '.join(unknown)}" if unknown else "both config= and settings"
        raise TypeError(f"train() got {problem}; settings are {', '.join(valid)} (or config=TrainConfig(...))")
    return TrainConfig(**options)


def _refuse_ignored_with_resume(key: str, given: list[str]) -> None:
    """A resume continues with the settings the run started with: arguments it would ignore are refused."""
    if given:
        raise AezooError(f"resume={key!r} continues a run with the settings it started with, so {', '.join(given)} "
                         "would be ignored; leave them out, or start a new run")


def _resumable(registry: Registry, key: str, held: ExitStack) -> tuple[dict[str, Any], TrainState]:
    """The run specification and training state of checkpoint ``key``, which must exist and not be saved yet.
    The checkpoint is claimed for the whole resume (``held``): a second resume of it meanwhile is refused,
    naming this process (under torchrun, rank 0 claims it for all)."""
    known = [p.name for p in registry.list_checkpoints()]
    if key not in known:
        raise UnknownNameError("checkpoint", key, known)
    if os.environ.get("RANK", "0") == "0":
        held.enter_context(registry.claim_checkpoint(key, "resuming"))
    spec, state = read_checkpoint(registry.checkpoint_dir(key))
    saved = [r.id for r in registry.list() if r.config.get("checkpoint_key") == key]
    if saved:  # killed after the final save, before the checkpoint was removed
        registry.remove_checkpoint(key)
        raise AezooError(f"checkpoint {key} was already saved as run {saved[0]}; nothing to resume "
                         "(the checkpoint is now removed)")
    return spec, state


def _check_name(registry: Registry, name: str | None) -> None:
    """A run name must be valid, not taken, and read neither as a run id nor as a model's name."""
    if name is not None:
        from aezoo.plugins.manager import catalog

        registry.check_run_name(name, tuple(catalog().models))


def _check_numbers(config: TrainConfig) -> None:
    """Refuse a learning rate or seed that torch cannot hold, before anything is built."""
    if not config.lr <= FLOAT32_MAX:
        raise AezooError(f"learning rate {config.lr:g} does not fit in float32 (at most {FLOAT32_MAX:.3g}); "
                         "use a learning rate such as 1e-3")
    if not 0 <= config.seed < 2**63:
        raise AezooError(f"seed {config.seed} is out of range: use an integer from 0 to {2**63 - 1}")


def _processes(config: TrainConfig, key: str) -> tuple[int, int, str]:
    """Resolve the device and join the other processes under torchrun: this one's rank, their number, and
    rank 0's checkpoint key (the same on every process)."""
    config.device = resolve_device(config.device)
    rank, world = init_distributed(config.device)
    if world > 1:
        key = same_everywhere(key, world)
        if config.device.startswith("cuda"):
            config.device = f"cuda:{torch.cuda.current_device()}"
    return rank, world, key


def _trainer(net: AutoEncoder, splits: Splits, config: TrainConfig, spec: dict[str, Any], registry: Registry,
             key: str, events: TrainingEvents, held: ExitStack | None) -> Trainer:
    """A Trainer that writes its checkpoints to the registry's ``checkpoints/KEY``, a folder made only once the
    Trainer has accepted the settings (and, given ``held``, claimed for this process until train() ends, so
    `zoo runs gc` leaves it alone while it is still empty); ``spec["train"]`` then records the precision it
    resolved."""

    def checkpoint(s: TrainState) -> None:
        _write_checkpoint(directory, spec, s)
        events.checkpoint(s.epoch, str(directory / CHECKPOINT_FILE))

    trainer = Trainer(net, splits, config, on_checkpoint=checkpoint, progress=events)
    if held is not None:
        directory = held.enter_context(registry.claim_checkpoint(key, "training")).folder
    else:
        directory = registry.checkpoint_dir(key)
    spec["train"] = asdict(config)
    return trainer


def _fit(trainer: Trainer, state: TrainState | None, spec: dict[str, Any], registry: Registry, key: str,
         events: TrainingEvents) -> TrainResult:
    """Train, telling the events when it starts and how it ends. Ctrl-C: Interrupted, which names the checkpoint;
    a non-finite loss: no checkpoint; any other failure: the last checkpoint and the --resume line, or nothing."""
    try:
        events.train_start({**spec, "key": key, "processes": trainer.world, "device": trainer.config.device,
                            "parameters": sum(p.numel() for p in trainer.model.parameters()),
                            "closed_form": closed_form(trainer.model) is not None, "aezoo_version": __version__})
        result = trainer.fit(state)
    except TrainingInterrupted as stop:
        events.train_end({"status": "interrupted", "checkpoint": key})
        raise Interrupted(key, stop.state) from None
    except TrainingError:
        if trainer.rank == 0:
            registry.remove_checkpoint(key)
        events.train_end({"status": "failed"})
        raise
    except BaseException as exc:  # a crash, a full disk, a second Ctrl-C
        events.train_end({"status": "failed"})
        if trainer.rank == 0:
            _fail(registry, key, "training stopped", exc)
        raise
    trainer.close()
    return result


def _save(trainer: Trainer, result: TrainResult, spec: dict[str, Any], registry: Registry, key: str,
          events: TrainingEvents) -> RunRecord:
    """Save the trained model as a run (recording its checkpoint key, so a resume of it is refused, never saved
    twice), then remove the checkpoint. If the save fails, the checkpoint stays and the error offers it."""
    splits, metrics = trainer.splits, {**_metrics(result), "binarize": spec["train"].get("binarize", "none")}
    run_config = {"dataset": splits.name, "data_dir": spec["data_dir"], "input_shape": list(splits.input_shape),
                  "train": spec["train"], "processes": trainer.world, "aezoo_version": __version__,
                  "classes": splits.classes, "plugin": plugin_of(spec["qualified_model"]),
                  "qualified_model": spec["qualified_model"]}
    state_dict = {k: v.detach().cpu().contiguous() for k, v in trainer.model.state_dict().items()}
    try:
        record = registry.save(spec["model"], state_dict, hyperparameters=spec["hyperparameters"],
                               input_shape=splits.input_shape, config=run_config, metrics=metrics,
                               history=result.history, name=spec["name"], checkpoint_key=key)
    except CheckpointSavedError:  # another process saved this checkpoint's run first: never saved twice
        registry.remove_checkpoint(key)
        raise
    except Exception as exc:
        _fail(registry, key, "the run could not be saved", exc)
        raise
    registry.remove_checkpoint(key)
    warned = after_training(trainer.model, splits.val.floats(None), metrics, splits.val.labels)
    events.train_end({"status": "finished", "run": record.id, "path": str(record.path), **metrics, "warnings": warned})
    return record


def _metrics(result: TrainResult) -> dict[str, Any]:
    """The run's metrics: how training went, and the best epoch's validation losses."""
    metrics = {"best_epoch": result.best_epoch, "epochs_trained": len(result.history),
               "stopped_early": result.stopped_early, "train_seconds": round(result.seconds, 3),
               "images_per_second": round(result.images_per_second, 1), "precision": result.precision}
    if result.fitted is not None:  # fitted once: no epochs to count, none best, nothing stopped
        metrics = {"fitted": result.fitted, "epochs_trained": 0, "train_seconds": metrics["train_seconds"],
                   "precision": result.precision}
    if result.compile_seconds is not None:
        metrics["compile_seconds"] = result.compile_seconds
    if result.profile is not None:
        metrics["profile_seconds"] = result.profile
    if result.threads is not None:  # the count changes results bit-wise: a rerun needs it (--threads N)
        metrics["threads"] = result.threads
    if result.history:
        best = result.history[result.best_epoch - 1]
        metrics.update({k: v for k, v in best.items() if k.startswith("val_")})
    return metrics


def _fail(registry: Registry, key: str, what: str, exc: BaseException) -> None:
    """After a failure: with a checkpoint on disk, raise an error that offers ``zoo train --resume KEY``
    (a user-facing error, which the CLI prints in one line) or add that advice to the exception (a bug, a
    KeyboardInterrupt); without one, remove the empty folder."""
    directory = registry.home / paths.CHECKPOINTS / key
    if not (directory / CHECKPOINT_FILE).is_file():
        registry.remove_checkpoint(key)
        return
    advice = f"the last checkpoint is kept: fix the cause, then resume with: zoo train --resume {key}"
    if isinstance(exc, (AezooError, ValueError, OSError)):  # what the CLI prints as one line
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrainingError(f"{what}: {reason}; {advice}") from exc
    exc.add_note(advice)


def run_model_name(registration: ModelSpec) -> str:
    """The model name a run is saved under: the plain name when it reaches this model, else ``PLUGIN/MODEL`` (a
    model another plugin's shadows), so its runs never mix with the other model's."""
    from aezoo.plugins.manager import catalog

    return registration.name if catalog().models.get(registration.name) is registration else registration.qualified


def plugin_of(model: str) -> dict[str, str]:
    """The plugin that registered ``model``: its name, package and version, recorded with each run."""
    from aezoo.plugins.manager import catalog

    spec = model_spec(model)
    info = catalog().plugins.get(spec.plugin)
    return {"name": spec.plugin, "package": info.package if info else "", "version": info.version if info else ""}


def _events(progress: TrainingEvents | bool | None, log: list[str] | tuple[str, ...],
            trackers: list[TrainingEvents] | tuple[TrainingEvents, ...]) -> TrainingEvents:
    """The progress display and the trackers, as one receiver of training events."""
    from aezoo.plugins.trackers import make_trackers

    receivers = [*make_trackers(log), *trackers]
    if progress is None:
        from aezoo.core.events import ConsoleProgress

        progress = ConsoleProgress()
    if progress is not False:
        receivers.insert(0, progress)
    return Fanout(receivers)
