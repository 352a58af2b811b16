"""The Trainer: epochs over in-memory splits, validation, early stopping, checkpoints and guards.

It knows nothing of where runs are stored: checkpoints go to a callback, progress to a Progress object.
"""
from __future__ import annotations

import copy
import math
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.interfaces import Step
from aezoo.data.splits import Split, Splits
from aezoo.errors import TrainingError

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
              "rmsprop": torch.optim.RMSprop}
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
SCHEDULES = ("cosine", "constant")


def scheduled_lr(base: float, schedule: str, step: int, total: int) -> float:
    """The learning rate at optimiser ``step`` of ``total``: constant, or cosine-decayed from ``base`` to 0.
    A pure function of the step, so a resumed run follows the same schedule."""
    if schedule == "constant" or total <= 1:
        return base
    return base * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


@dataclass
class TrainConfig:
    epochs: int | None = None  # None: 10, or enough epochs for ~4000 steps on a small dataset (auto_epochs)
    batch_size: int = 64
    lr: float = 1e-3
    schedule: str = "constant"  # learning rate over training: "constant", or "cosine" decay to 0
    optimizer: str = "adam"
    seed: int = 0
    device: str = "cpu"
    precision: str = "fp32"
    patience: int | None = None  # early stopping after this many epochs without validation improvement
    restore_best: bool = True

    def check(self) -> None:
        if (self.epochs is not None and self.epochs < 1) or self.batch_size < 1:
            raise ValueError("epochs and batch size must be at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"learning rate must be a positive number, got {self.lr}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")


def auto_epochs(n_images: int, batch_size: int, steps: int = 4000, at_least: int = 10, at_most: int = 400) -> int:
    """10 epochs, or more on small datasets so that training makes about ``steps`` optimiser steps."""
    per_epoch = max(1, math.ceil(n_images / batch_size))
    return max(at_least, min(at_most, math.ceil(steps / per_epoch)))


@dataclass
class TrainState:
    """Everything needed to continue training exactly where it stopped."""

    epoch: int = 0  # epochs completed
    batch: int = 0  # batches completed in the current epoch
    rng_state: torch.Tensor | None = None  # global torch RNG (reparameterisation, corruption noise)
    sums: dict[str, float] = field(default_factory=dict)  # running loss sums of the current epoch
    seen: int = 0  # images seen in the current epoch
    history: list[dict[str, Any]] = field(default_factory=list)
    best_loss: float = math.inf
    best_epoch: int = 0
    best_weights: dict[str, torch.Tensor] | None = None
    optimizer: dict[str, Any] | None = None
    model: dict[str, torch.Tensor] | None = None
    seconds: float = 0.0


@dataclass
class TrainResult:
    history: list[dict[str, Any]]
    best_epoch: int
    stopped_early: bool
    seconds: float
    images_per_second: float


class TrainingInterrupted(Exception):
    """Ctrl-C: the batch in flight finished and a checkpoint was written."""

    def __init__(self, state: TrainState):
        super().__init__(f"interrupted in epoch {state.epoch + 1} after batch {state.batch}")
        self.state = state


class Progress:
    """Receives training events; the default does nothing."""

    def epoch_start(self, epoch: int, epochs: int, batches: int) -> None: ...
    def batch(self, loss: float, images: int) -> None: ...
    def epoch_end(self, record: dict[str, Any]) -> None: ...


@contextmanager
def _catch_sigint() -> Iterator[list[bool]]:
    """While active, Ctrl-C sets a flag instead of raising, so the batch in flight can finish."""
    flag = [False]
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag[0]:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        flag[0] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class _LossOf(nn.Module):
    """``forward(x) = model.loss(x)``, so DistributedDataParallel sees the whole training computation."""

    def __init__(self, model: AutoEncoder):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.model.loss(x, step)


def _check_precision(precision: str, device: torch.device) -> None:
    """Refuse mixed precision a device cannot do, saying what to use instead."""
    if precision == "fp16" and device.type == "cpu":
        raise ValueError("fp16 mixed precision needs a GPU; on the CPU use --precision bf16 or fp32")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"this GPU ({torch.cuda.get_device_name(device)}) has no bf16; use --precision fp16")


def make_optimizers(model: AutoEncoder, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    """One optimiser per parameter group: ``config.optimizer`` at ``config.lr`` for the model; an aux network's
    ``model.aux_optimizers[name]`` settings (``optimizer``, ``lr``, and that optimiser's keywords) for its own."""
    out = {}
    for name, params in model.parameter_groups().items():
        settings = dict(getattr(model, "aux_optimizers", {}).get(name, {}))
        kind, lr = settings.pop("optimizer", config.optimizer), float(settings.pop("lr", config.lr))
        if kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {kind!r} for {name}; choose one of {', '.join(OPTIMIZERS)}")
        if params:
            try:
                opt = OPTIMIZERS[kind](params, lr=lr, **settings)
            except TypeError as exc:
                raise ValueError(f"optimizer settings {settings} do not suit {kind} for {name}: {exc}") from None
            for group in opt.param_groups:
                group["base_lr"] = lr
            out[name] = opt
    return out


def aux_loss_names(model: AutoEncoder) -> tuple[str, ...]:
    """The parts of the objective that train the model's aux networks; an aux network nothing trains is refused."""
    names = tuple(getattr(model.objective, "aux_losses", ()))
    if model.aux and not names:
        raise ValueError(f"the model has auxiliary networks ({', '.join(model.aux)}) but its objective names no "
                         f"aux_losses, so they would never train; list the loss parts that train them in "
                         f"{type(model.objective).__name__}.aux_losses")
    return names if model.aux else ()


def world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Trainer:
    """Trains on one process, or on each of several started by torchrun (DistributedDataParallel): then the
    batch size is the global one, split between the processes, and only rank 0 checkpoints and reports."""

    def __init__(self, model: AutoEncoder, splits: Splits, config: TrainConfig,
                 on_checkpoint: Callable[[TrainState], None] | None = None, progress: Progress | None = None):
        config.check()
        if config.epochs is None:
            config.epochs = auto_epochs(len(splits.train), config.batch_size)
        self.model, self.splits, self.config = model, splits, config
        self.device = torch.device(config.device)
        self.on_checkpoint = on_checkpoint or (lambda state: None)
        self.progress = progress or Progress()
        _check_precision(config.precision, self.device)
        self.model.to(self.device)
        self.rank, self.world = world()
        self.step_module: nn.Module = _LossOf(self.model)
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index or 0] if self.device.type == "cuda" else None
            self.step_module = DistributedDataParallel(self.step_module, device_ids=ids)
        if self.rank != 0:
            self.on_checkpoint, self.progress = (lambda state: None), Progress()
        self.optimizers = make_optimizers(self.model, config)
        self.aux_losses = aux_loss_names(self.model)
        dtype = PRECISIONS[config.precision]
        self.autocast = (lambda: torch.autocast(self.device.type, dtype=dtype)) if dtype else nullcontext
        self.scaler = torch.amp.GradScaler(self.device.type) if config.precision == "fp16" else None

    def _snapshot(self, state: TrainState) -> TrainState:
        state.model = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        state.optimizer = {name: copy.deepcopy(opt.state_dict()) for name, opt in self.optimizers.items()}
        state.rng_state = torch.get_rng_state()
        return state

    def _validate(self, split: Split) -> dict[str, float]:
        self.model.eval()
        sums: dict[str, float] = {}
        with torch.no_grad(), self.autocast():
            for x, _ in split.batches(1024, device=self.device):
                loss, parts = self.model.loss(x)
                for k, v in {"loss": loss, **parts}.items():
                    sums[k] = sums.get(k, 0.0) + float(v) * len(x)
        self.model.train()
        return {k: v / len(split) for k, v in sums.items()}

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The model's own optimiser (aux networks such as a discriminator have theirs in ``optimizers``)."""
        return self.optimizers["model"]

    def _step(self, x: torch.Tensor, step: Step, factor: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One optimiser step of every optimiser; ``factor`` scales each one's base learning rate (schedule)."""
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * factor
        with self.autocast():
            loss, parts = self.step_module(x, step)
        missing = [name for name in self.aux_losses if name not in parts]
        if missing:
            raise ValueError(f"the objective's aux_losses name {', '.join(missing)}, which its parts lack "
                             f"(parts: {', '.join(parts)})")
        total = loss + sum(parts[name] for name in self.aux_losses)  # each aux loss reaches only its own network
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            for opt in self.optimizers.values():
                self.scaler.step(opt)
            self.scaler.update()
        else:
            total.backward()
            for opt in self.optimizers.values():
                opt.step()
        self.model.after_step(step)
        return loss, parts

    def _any(self, flag: bool) -> bool:
        """True on every process if it is true on any (so all stop at the same batch)."""
        if self.world == 1:
            return flag
        t = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(t)
        return bool(t.item())

    def _gather(self, sums: dict[str, float], seen: int) -> tuple[dict[str, float], int]:
        """Loss sums and image counts added over all processes."""
        if self.world == 1:
            return sums, seen
        keys = sorted(sums)
        t = torch.tensor([sums[k] for k in keys] + [float(seen)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return dict(zip(keys, t[:-1].tolist())), int(t[-1].item())

    def _from_rank0(self, values: dict[str, float]) -> dict[str, float]:
        """Rank 0's values on every process, so early stopping decides the same everywhere."""
        if self.world == 1:
            return values
        keys = sorted(values)
        t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self.device)
        dist.broadcast(t, 0)
        return dict(zip(keys, t.tolist()))

    def fit(self, state: TrainState | None = None) -> TrainResult:
        """Train from scratch (seeding from config.seed) or continue from a checkpointed ``state``."""
        cfg, train = self.config, self.splits.train
        shuffle = torch.Generator()
        if state is None:
            state = TrainState()
        else:
            self.model.load_state_dict(state.model)
            for name, opt in self.optimizers.items():
                opt.load_state_dict(state.optimizer[name])
            torch.set_rng_state(state.rng_state)
        batch_size = max(1, cfg.batch_size // self.world)  # per process; the global batch stays cfg.batch_size
        n_batches = math.ceil(len(train) // self.world / batch_size)
        stopped_early = False
        started, images = time.perf_counter() - state.seconds, 0
        self.model.train()
        with _catch_sigint() as interrupted:
            while state.epoch < cfg.epochs:
                shuffle.manual_seed(cfg.seed + state.epoch)  # each epoch's order depends only on seed and epoch
                self.progress.epoch_start(state.epoch + 1, cfg.epochs, n_batches)
                for x, _ in train.batches(batch_size, shuffle=True, generator=shuffle, start=state.batch,
                                          device=self.device, shard=(self.rank, self.world)):
                    done = state.epoch * n_batches + state.batch
                    total = cfg.epochs * n_batches
                    loss, parts = self._step(x, Step(done, state.epoch, total),
                                             scheduled_lr(1.0, cfg.schedule, done, total))
                    values = [loss.detach().float(), *(v.detach().float() for v in parts.values())]
                    value, *part_values = torch.stack(values).tolist()  # one read of all numbers per batch
                    bad = [(k, v) for k, v in [("loss", value), *zip(parts, part_values)]
                           if (k == "loss" or k in self.aux_losses) and not math.isfinite(v)]
                    if bad:
                        what, number = bad[0]
                        raise TrainingError(
                            f"{'loss' if what == 'loss' else what + ' loss'} became {number} in epoch "
                            f"{state.epoch + 1}, batch {state.batch + 1}; nothing was saved. Try a smaller learning "
                            f"rate (now {cfg.lr:g}) or --precision fp32"
                        )
                    n = len(x)
                    state.sums["loss"] = state.sums.get("loss", 0.0) + value * n
                    for k, v in zip(parts, part_values):
                        state.sums[k] = state.sums.get(k, 0.0) + v * n
                    state.seen += n
                    state.batch += 1
                    images += n
                    self.progress.batch(value, n)
                    if self._any(interrupted[0]):
                        state.seconds = time.perf_counter() - started
                        self._snapshot(state)
                        self.on_checkpoint(state)
                        raise TrainingInterrupted(state)
                record = {"epoch": state.epoch + 1}
                sums, seen = self._gather(state.sums, state.seen)
                record.update({f"train_{k}": v / max(seen, 1) for k, v in sums.items()})
                record.update({f"val_{k}": v for k, v in self._from_rank0(self._validate(self.splits.val)).items()})
                record["seconds"] = round(time.perf_counter() - started, 3)
                state.history.append(record)
                if record["val_loss"] < state.best_loss:
                    state.best_loss, state.best_epoch = record["val_loss"], record["epoch"]
                    state.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                state.epoch, state.batch, state.sums, state.seen = state.epoch + 1, 0, {}, 0
                self.progress.epoch_end(record)
                state.seconds = time.perf_counter() - started
                if cfg.patience is not None and state.epoch - state.best_epoch >= cfg.patience:
                    stopped_early = True
                    self.on_checkpoint(self._snapshot(state))
                    break
                self.on_checkpoint(self._snapshot(state))
                if self._any(interrupted[0]):
                    raise TrainingInterrupted(state)
        if cfg.restore_best and state.best_weights is not None:
            self.model.load_state_dict(state.best_weights)
        seconds = time.perf_counter() - started
        return TrainResult(state.history, state.best_epoch, stopped_early, seconds,
                           images * self.world / max(seconds, 1e-9))
