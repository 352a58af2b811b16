"""Training wired together: data from the dataset plugins, a model from the model plugins, the core
Trainer, checkpoints in the registry's staging area, and the finished run saved into the registry."""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from aezoo import __version__
from aezoo.api.build import create_model
from aezoo.api.catalog import load_dataset, model_spec
from aezoo.core.checkpoint import state_from_parts, state_to_parts
from aezoo.core.events import Fanout, TrainingEvents
from aezoo.core.runtime.device import resolve_device
from aezoo.core.runtime.distributed import finish_distributed, init_distributed, same_everywhere
from aezoo.core.trainer import TrainConfig, Trainer, TrainingInterrupted, TrainState
from aezoo.errors import AezooError, TrainingError
from aezoo.registry import Registry

CHECKPOINT_FILE = "checkpoint.safetensors"
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
    meta = {"aezoo_checkpoint": json.dumps({"spec": spec, "state": skeleton})}
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
            meta = json.loads(f.metadata()["aezoo_checkpoint"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise AezooError(f"checkpoint {path} is unreadable ({exc}); start the run again") from exc
    return meta["spec"], state_from_parts(tensors, meta["state"])


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
    ``trackers``: TrainingEvents objects of your own. All of them receive the same events."""
    from dataclasses import fields

    from aezoo.registry.refs import validate_name

    if options:
        valid = [f.name for f in fields(TrainConfig)]
        unknown = sorted(set(options) - set(valid))
        if unknown or config is not None:
            problem = f"unknown settings {', '.join(unknown)}" if unknown else "both config= and settings"
            raise TypeError(f"train() got {problem}; settings are {', '.join(valid)} (or config=TrainConfig(...))")
        config = TrainConfig(**options)

    registry = registry or Registry()
    state = None
    if resume is not None:
        known = [p.name for p in registry.list_checkpoints()]
        if resume not in known:
            from aezoo.errors import UnknownNameError

            raise UnknownNameError("checkpoint", resume, known)
        spec, state = read_checkpoint(registry.checkpoint_dir(resume))
        key = resume
        saved = [r.id for r in registry.list() if r.config.get("checkpoint_key") == key]
        if saved:  # killed after the final save, before the checkpoint was removed
            registry.remove_checkpoint(key)
            raise AezooError(f"checkpoint {key} was already saved as run {saved[0]}; nothing to resume "
                             "(the checkpoint is now removed)")
        model, dataset, data_dir, name = spec["model"], spec["dataset"], spec["data_dir"], spec["name"]
        hyperparameters, config = spec["hyperparameters"], TrainConfig(**spec["train"])
    else:
        config = config or TrainConfig()
        config.check()
        key = f"{model}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(8)}"
    if name is not None and resume is None:  # fail before training, not after
        validate_name(name)
        taken = [r.id for r in registry.list() if r.name == name]
        if taken:
            raise AezooError(f"run name {name!r} is already used by {', '.join(taken)}; pick another --name "
                             f"(or leave it out: runs are also named by id)")
    if not config.lr <= FLOAT32_MAX:
        raise AezooError(f"learning rate {config.lr:g} does not fit in float32 (at most {FLOAT32_MAX:.3g}); "
                         "use a learning rate such as 1e-3")
    if not 0 <= config.seed < 2**63:
        raise AezooError(f"seed {config.seed} is out of range: use an integer from 0 to {2**63 - 1}")
    config.device = resolve_device(config.device)
    rank, world = init_distributed(config.device)
    if world > 1:
        key = same_everywhere(key, world)
        if config.device.startswith("cuda"):
            config.device = f"cuda:{torch.cuda.current_device()}"
    splits = load_dataset(dataset, data_dir=data_dir, download=download)
    torch.manual_seed(config.seed)
    hp = model_spec(model).check(hyperparameters or {})
    net = create_model(model, input_shape=splits.input_shape, **hp)
    spec = {"model": model, "dataset": splits.name, "data_dir": data_dir, "name": name,
            "hyperparameters": hp, "train": asdict(config)}
    events = _events(progress, log, trackers) if rank == 0 else TrainingEvents()

    def checkpoint(s: TrainState) -> None:
        _write_checkpoint(directory, spec, s)
        events.checkpoint(s.epoch, str(directory / CHECKPOINT_FILE))

    trainer = Trainer(net, splits, config, on_checkpoint=checkpoint, progress=events)
    directory = registry.checkpoint_dir(key)  # after the Trainer has accepted the settings
    spec["train"] = asdict(config)  # with the precision the Trainer resolved
    events.train_start({**spec, "key": key, "processes": world, "device": config.device,
                        "parameters": sum(p.numel() for p in net.parameters()), "aezoo_version": __version__})
    try:
        result = trainer.fit(state)
    except TrainingInterrupted as stop:
        events.train_end({"status": "interrupted", "checkpoint": key})
        raise Interrupted(key, stop.state) from None
    except TrainingError:
        if rank == 0:
            registry.remove_checkpoint(key)
        events.train_end({"status": "failed"})
        raise
    except BaseException as exc:  # a crash, a full disk, a second Ctrl-C: offer the last checkpoint, or leave
        events.train_end({"status": "failed"})  # no empty folder
        if rank == 0:
            _fail(registry, key, "training stopped", exc)
        raise
    trainer.close()
    if rank != 0:  # only rank 0 writes to the registry
        finish_distributed(world)
        net.run = None
        return net.eval()
    metrics = {"best_epoch": result.best_epoch, "epochs_trained": len(result.history),
               "stopped_early": result.stopped_early, "train_seconds": round(result.seconds, 3),
               "images_per_second": round(result.images_per_second, 1), "precision": result.precision}
    if result.compile_seconds is not None:
        metrics["compile_seconds"] = result.compile_seconds
    if result.profile is not None:
        metrics["profile_seconds"] = result.profile
    if result.history:
        best = result.history[result.best_epoch - 1]
        metrics.update({k: v for k, v in best.items() if k.startswith("val_")})
    run_config = {"dataset": splits.name, "data_dir": data_dir, "input_shape": list(splits.input_shape),
                  "train": asdict(config), "processes": world, "aezoo_version": __version__,
                  "classes": splits.classes, "plugin": plugin_of(model)}
    state_dict = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    run_config["checkpoint_key"] = key  # a resume of this key after the save is refused, never saved twice
    try:
        record = registry.save(model, state_dict, hyperparameters=hp, input_shape=splits.input_shape,
                               config=run_config, metrics=metrics, history=result.history, name=name)
    except Exception as exc:
        _fail(registry, key, "the run could not be saved", exc)
        raise
    registry.remove_checkpoint(key)
    events.train_end({"status": "finished", "run": record.id, "path": str(record.path), **metrics})
    finish_distributed(world)
    net.run = record
    return net.eval()


def _fail(registry: Registry, key: str, what: str, exc: BaseException) -> None:
    """After a failure: with a checkpoint on disk, raise an error that offers ``zoo train --resume KEY``
    (a user-facing error, which the CLI prints in one line) or add that advice to the exception (a bug, a
    KeyboardInterrupt); without one, remove the empty folder."""
    directory = registry.home / "checkpoints" / key
    if not (directory / CHECKPOINT_FILE).is_file():
        registry.remove_checkpoint(key)
        return
    advice = f"the last checkpoint is kept: fix the cause, then resume with: zoo train --resume {key}"
    if isinstance(exc, (AezooError, ValueError, OSError)):  # what the CLI prints as one line
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrainingError(f"{what}: {reason}; {advice}") from exc
    exc.add_note(advice)


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
