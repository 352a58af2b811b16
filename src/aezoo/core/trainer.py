"""The Trainer: epochs over in-memory splits, validation, early stopping, checkpoints and guards.

It knows nothing of where runs are stored: checkpoints go to a callback, events (progress, trackers) to a
TrainingEvents object. Losses are summed on the device and read every ``log_every`` steps, so a GPU is not
made to wait for the host at every step.
"""
from __future__ import annotations

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

from aezoo.core.autoencoder import AutoEncoder, require_labels
from aezoo.core.events import TrainingEvents
from aezoo.core.interfaces import Step
from aezoo.core.runtime.distributed import world
from aezoo.core.runtime.precision import CHOICES, PRECISIONS, check_precision, resolve_precision
from aezoo.data.splits import BINARIZE, Split, Splits, binarized
from aezoo.errors import TrainingError

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
              "rmsprop": torch.optim.RMSprop}
SCHEDULES = ("cosine", "constant")
VAL_BATCH = 256  # validation batch: large enough to amortise per-batch overhead, small enough to stay in cache
PHASES = ("data", "forward", "backward", "optimiser", "bookkeeping", "validation", "checkpoint")


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
    precision: str = "auto"  # auto: bf16 where the device runs it natively (see core.precision), else fp32
    patience: int | None = None  # early stopping after this many epochs without validation improvement
    restore_best: bool = True
    compile: bool = False  # torch.compile the encoder and decoder
    log_every: int | None = None  # read losses from the device every N steps; None: 1 on the CPU, 50 elsewhere
    checkpoint_every: float = 10.0  # seconds: a checkpoint after an epoch at most this often (and on Ctrl-C)
    profile: bool = False  # time each phase of a step (synchronising a GPU after each)
    binarize: str = "none"  # 0/1 pixels: "dynamic" (each training image drawn anew whenever it is seen), "static"
    # (drawn once per dataset with a fixed seed, aezoo.data.splits.binarized); validation uses the static draw

    def check(self) -> None:
        if (self.epochs is not None and self.epochs < 1) or self.batch_size < 1:
            raise ValueError("epochs and batch size must be at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"learning rate must be a positive number, got {self.lr}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.precision not in CHOICES:
            raise ValueError(f"unknown precision {self.precision!r}; choose one of {', '.join(CHOICES)}")
        if self.log_every is not None and self.log_every < 1:
            raise ValueError(f"log_every must be at least 1, got {self.log_every}")
        if self.binarize not in BINARIZE:
            raise ValueError(f"unknown binarize {self.binarize!r}; choose one of {', '.join(BINARIZE)}")


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
    optimizer: dict[str, Any] | None = None  # set only while a checkpoint is written (references, not copies)
    model: dict[str, torch.Tensor] | None = None  # likewise
    seconds: float = 0.0
    scaler: dict[str, Any] | None = None  # fp16's GradScaler (its loss scale), so a resume does not restart it
    images: int = 0  # trained on by this process over the whole run (throughput after a resume counts them all)


@dataclass
class TrainResult:
    history: list[dict[str, Any]]
    best_epoch: int
    stopped_early: bool
    seconds: float
    images_per_second: float
    precision: str = "fp32"
    compile_seconds: float | None = None  # first step and first validation pass, when compiling
    profile: dict[str, float] | None = None  # seconds per phase (PHASES), with --profile
    fitted: str | None = None  # "closed form": fitted once (PCA), not trained over epochs


class TrainingInterrupted(Exception):
    """Ctrl-C: the batch in flight finished and a checkpoint was written."""

    def __init__(self, state: TrainState):
        super().__init__(f"interrupted in epoch {state.epoch + 1} after batch {state.batch}")
        self.state = state


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, and what `kill`, systemd and job schedulers send


@contextmanager
def _catch_sigint() -> Iterator[list[bool]]:
    """While active, Ctrl-C (or SIGTERM) sets a flag instead of raising, so the batch in flight can finish."""
    flag = [False]
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag[0]:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        flag[0] = True

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield flag
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)


class _LossOf(nn.Module):
    """``forward(x, step, y) = model.loss(x, step, y)``, so DistributedDataParallel sees the whole training
    computation."""

    def __init__(self, model: AutoEncoder):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, step: Step,
                y: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.model.loss(x, step) if y is None else self.model.loss(x, step, y)


class _Clock:
    """Seconds per training phase when profiling (synchronising a GPU so each phase owns its kernels);
    otherwise free."""

    def __init__(self, on: bool, device: torch.device):
        self.on, self.device = on, device
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        if self.on:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            now = time.perf_counter()
            self.seconds[phase] += now - self.last
            self.last = now


class _LossSums:
    """The training loss and its parts, times each batch's size, summed on the device since they were last
    read, so that a GPU need not wait for the host at every step."""

    def __init__(self) -> None:
        self.sum: torch.Tensor | None = None  # None: nothing added since the last read
        self.names: list[str] = []  # "loss", then the parts' names
        self.steps = self.images = 0  # steps and images since the last read
        self.first = 0  # batches of the epoch done before those steps
        self.latest = math.nan  # the mean loss at the last read

    def add(self, loss: torch.Tensor, parts: dict[str, torch.Tensor], n: int) -> torch.Tensor:
        """Add a step's loss and parts (means over its ``n`` images); returns them stacked."""
        values = torch.stack([loss.detach().float(), *(v.detach().float() for v in parts.values())])
        self.sum = values * n if self.sum is None else self.sum + values * n
        self.names = self.names or ["loss", *parts]
        self.steps += 1
        self.images += n
        return values

    def span(self, batch: int) -> str:
        """The batches added since the last read, ``batch`` being the last of them: "batch 3", "batches 1-4"."""
        return f"batch {batch}" if self.steps == 1 else f"batches {self.first + 1}-{batch}"

    def clear(self, batch: int) -> None:
        """Start summing afresh after ``batch``."""
        self.sum, self.steps, self.images, self.first = None, 0, 0, batch


@dataclass
class _Fit:
    """What one call of ``Trainer.fit`` keeps beside the TrainState it checkpoints."""

    train: Split  # where batches are sliced (on an accelerator when it fits there)
    val: Split
    batch_size: int  # per process; the global batch is config.batch_size
    batches: int  # per epoch and process
    total: int  # optimiser steps of the whole run
    losses: _LossSums
    started: float  # perf_counter() at the start, less the seconds of the run before a resume
    shuffle: torch.Generator = field(default_factory=torch.Generator)  # seeded each epoch
    compile_seconds: float | None = None  # first step and first validation, when compiling
    last_checkpoint: float = field(default_factory=time.perf_counter)
    stopped_early: bool = False


def _optimizer(kind: str, params: list[nn.Parameter], lr: float, settings: dict[str, Any],
               name: str = "") -> torch.optim.Optimizer:
    """The torch optimiser, fused (one kernel for all parameters) where torch has that for it and the device."""
    cls, for_ = OPTIMIZERS[kind], f" for {name}" if name else ""
    if kind != "rmsprop" and "fused" not in settings and "foreach" not in settings:
        try:
            return cls(params, lr=lr, fused=True, **settings)
        except (RuntimeError, TypeError, ValueError):
            pass
    try:
        return cls(params, lr=lr, **settings)
    except TypeError as exc:
        raise ValueError(f"optimizer settings {settings} do not suit {kind}{for_}: {exc}") from None


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
            opt = _optimizer(kind, params, lr, settings, name)
            for group in opt.param_groups:
                group["base_lr"] = lr
            out[name] = opt
    return out


def closed_form(model: AutoEncoder) -> Callable[[AutoEncoder, torch.Tensor], None] | None:
    """The objective's closed-form fit ``fit_closed_form(model, train_images)`` when it has one (PCA): such a
    model is fitted once on the training images instead of trained by gradient steps."""
    return getattr(model.objective, "fit_closed_form", None)


def aux_loss_names(model: AutoEncoder) -> tuple[str, ...]:
    """The parts of the objective that train the model's aux networks; an aux network nothing trains is refused."""
    names = tuple(getattr(model.objective, "aux_losses", ()))
    if model.aux and not names:
        raise ValueError(f"the model has auxiliary networks ({', '.join(model.aux)}) but its objective names no "
                         f"aux_losses, so they would never train; list the loss parts that train them in "
                         f"{type(model.objective).__name__}.aux_losses")
    return names if model.aux else ()


def resident(split: Split, device: torch.device, share: float = 0.25) -> Split:
    """The split with its uint8 images moved to an accelerator when they take at most ``share`` of its free
    memory, so batches are sliced and converted there; on the CPU (or when too big) the split itself."""
    if device.type == "cpu" or split.images.device == device:
        return split
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if split.images.numel() * split.images.element_size() > share * free:
            return split
    labels = split.labels.to(device) if split.labels is not None else None
    return Split(split.images.to(device), labels)


class Trainer:
    """Trains on one process, or on each of several started by torchrun (DistributedDataParallel): then the
    batch size is the global one, split between the processes, and only rank 0 checkpoints and reports."""

    def __init__(self, model: AutoEncoder, splits: Splits, config: TrainConfig,
                 on_checkpoint: Callable[[TrainState], None] | None = None,
                 progress: TrainingEvents | None = None):
        config.check()
        if config.epochs is None:
            config.epochs = auto_epochs(len(splits.train), config.batch_size)
        self.model, self.splits, self.config = model, splits, config
        self.conditional = model.conditional  # labels go to the model only when it reads them
        require_labels(model, splits.train.labels, f"dataset {splits.name!r}")
        self.device = torch.device(config.device)
        config.precision = resolve_precision(config.precision, self.device)  # the run records what was used
        check_precision(config.precision, self.device)
        self.on_checkpoint = on_checkpoint or (lambda state: None)
        self.events = progress or TrainingEvents()
        self.model.to(self.device)
        self.rank, self.world = world()
        if config.compile:
            for part in (self.model.encoder, self.model.decoder):
                part.compile()
        self.step_module: nn.Module = _LossOf(self.model)
        if self.world > 1 and closed_form(model) is None:  # a closed-form fit has no gradients to reduce
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index or 0] if self.device.type == "cuda" else None
            self.step_module = DistributedDataParallel(self.step_module, device_ids=ids)
        if self.rank != 0:
            self.on_checkpoint, self.events = (lambda state: None), TrainingEvents()
        self.optimizers = make_optimizers(self.model, config)
        self.aux_losses = aux_loss_names(self.model)
        self.comparable_loss = bool(getattr(self.model.objective, "comparable_loss", True))
        dtype = PRECISIONS[config.precision]
        self.autocast = (lambda: torch.autocast(self.device.type, dtype=dtype)) if dtype else nullcontext
        self.scaler = torch.amp.GradScaler(self.device.type) if config.precision == "fp16" else None
        self.log_every = config.log_every or (1 if self.device.type == "cpu" else 50)
        self.clock = _Clock(config.profile, self.device)

    # ---- the loop: an epoch is _train_epoch (a _train_step per batch), then _end_epoch ----------------------

    def fit(self, state: TrainState | None = None) -> TrainResult:
        """Train from scratch (seeding from config.seed) or continue from a checkpointed ``state``; a model whose
        objective has a closed-form fit (PCA) is fitted once instead (see ``_fit_closed_form``)."""
        fitter = closed_form(self.model)
        if fitter is not None:
            return self._fit_closed_form(fitter)
        state = TrainState() if state is None else self._restore(state)
        fit = self._start(state)
        with _catch_sigint() as interrupted:
            while state.epoch < self.config.epochs:
                self._train_epoch(state, fit, interrupted)
                self._end_epoch(state, fit)
                if fit.stopped_early:
                    break
                if self._any(interrupted[0]):
                    self._interrupt(state, fit)
        return self._result(state, fit)

    def _fit_closed_form(self, fitter: Callable[[AutoEncoder, torch.Tensor], None]) -> TrainResult:
        """One fit on all training images, no epochs and no optimiser; the record is its loss on the training and
        validation data (one "epoch", so that trackers and curves read it like any other)."""
        started = time.perf_counter()
        self.events.epoch_start(1, 1, 1)
        with torch.no_grad():
            fitter(self.model, self.splits.train.floats().to(self.device))
        record: dict[str, Any] = {"epoch": 1}
        for split, data in (("train", self.splits.train), ("val", self.splits.val)):
            record.update({f"{split}_{k}": v for k, v in self._validate(data).items()})
        seconds = time.perf_counter() - started
        record["seconds"] = round(seconds, 3)
        self.events.epoch_end(record)
        return TrainResult([record], 1, False, seconds, len(self.splits.train) / max(seconds, 1e-9),
                           self.config.precision, fitted="closed form")

    def _restore(self, state: TrainState) -> TrainState:
        """The model, optimisers, RNG and loss scale as the checkpointed ``state`` had them."""
        self.model.load_state_dict(state.model)
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state.optimizer[name])
        torch.set_rng_state(state.rng_state)
        if self.scaler is not None and state.scaler:
            self.scaler.load_state_dict(state.scaler)
        state.model = state.optimizer = None
        return state

    def _start(self, state: TrainState) -> _Fit:
        """This call's data, batches, clock and first learning rate, with the model in training mode."""
        cfg, train, val = self.config, self.splits.train, self.splits.val
        if cfg.binarize != "none":  # validation always on one fixed draw, so epochs compare alike
            train, val = binarized(train) if cfg.binarize == "static" else train, binarized(val)
        train = resident(train, self.device)
        batch_size = max(1, cfg.batch_size // self.world)  # per process; the global batch stays cfg.batch_size
        batches = math.ceil(len(train) // self.world / batch_size)
        fit = _Fit(train, resident(val, self.device), batch_size, batches, cfg.epochs * batches,
                   _LossSums(), started=time.perf_counter() - state.seconds)
        self.clock.last = time.perf_counter()
        self._set_lr(scheduled_lr(1.0, cfg.schedule, state.epoch * batches + state.batch, fit.total))
        self.model.train()
        return fit

    def _train_epoch(self, state: TrainState, fit: _Fit, interrupted: list[bool]) -> None:
        """The epoch's batches from ``state.batch`` on, in an order set by the seed and the epoch alone; on
        Ctrl-C, the batch in flight finishes and a checkpoint is written."""
        cfg = self.config
        fit.shuffle.manual_seed(cfg.seed + state.epoch)  # each epoch's order depends only on seed and epoch
        self.events.epoch_start(state.epoch + 1, cfg.epochs, fit.batches)
        fit.losses.first = state.batch
        self.clock.lap("bookkeeping")
        for x, y in fit.train.batches(fit.batch_size, shuffle=True, generator=fit.shuffle, start=state.batch,
                                      device=self.device, shard=(self.rank, self.world)):
            x = torch.bernoulli(x) if self.config.binarize == "dynamic" else x  # a fresh 0/1 draw of the images
            self.clock.lap("data")
            self._train_step(x, self._labels(y), state, fit)
            self.events.batch(fit.losses.latest, len(x))
            self.clock.lap("bookkeeping")
            if self._any(interrupted[0]):
                self._interrupt(state, fit)
        self._read_losses(state, fit)

    def _labels(self, y: torch.Tensor | None) -> torch.Tensor | None:
        """A batch's labels on the device for a conditional model; None (no copy) for any other."""
        return y.to(self.device, non_blocking=True) if self.conditional else None

    def _train_step(self, x: torch.Tensor, y: torch.Tensor | None, state: TrainState, fit: _Fit) -> None:
        """One optimiser step on batch ``x`` (labels ``y``, for a conditional model) at the scheduled learning rate;
        its losses are added up on the device and read every ``log_every`` steps and at the epoch's last batch."""
        cfg, done = self.config, state.epoch * fit.batches + state.batch
        if cfg.schedule != "constant":
            self._set_lr(scheduled_lr(1.0, cfg.schedule, done, fit.total))
        timing_compile = cfg.compile and fit.compile_seconds is None
        t0 = time.perf_counter()
        loss, parts = self._step(x, y, Step(done, state.epoch, fit.total))
        values = fit.losses.add(loss, parts, len(x))
        if timing_compile:
            values.sum().item()  # wait for the device
            fit.compile_seconds = time.perf_counter() - t0
        state.seen += len(x)
        state.batch += 1
        state.images += len(x)
        if fit.losses.steps >= self.log_every or state.batch == fit.batches:
            self._read_losses(state, fit)

    def _end_epoch(self, state: TrainState, fit: _Fit) -> None:
        """The epoch's record, the best weights so far, early stopping, and a checkpoint after the last epoch or
        when ``checkpoint_every`` seconds have passed since the previous one."""
        cfg, record = self.config, self._epoch_record(state, fit)
        state.history.append(record)
        if record["val_loss"] < state.best_loss or not self.comparable_loss:  # else: the last epoch is the best
            state.best_loss, state.best_epoch = record["val_loss"], record["epoch"]
            state.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        state.epoch, state.batch, state.sums, state.seen = state.epoch + 1, 0, {}, 0
        self.events.epoch_end(record)
        if self.events.wants_images:
            self._images(state.epoch)
        self.clock.lap("bookkeeping")
        state.seconds = time.perf_counter() - fit.started
        if cfg.patience is not None and state.epoch - state.best_epoch >= cfg.patience:
            fit.stopped_early = True
        if (state.epoch == cfg.epochs or fit.stopped_early
                or time.perf_counter() - fit.last_checkpoint >= cfg.checkpoint_every):
            self._checkpoint(state)
            fit.last_checkpoint = time.perf_counter()
            self.clock.lap("checkpoint")

    def _result(self, state: TrainState, fit: _Fit) -> TrainResult:
        """The best validation epoch's weights back in the model (unless ``restore_best`` is off), and the
        result; images per second leave out the compile time."""
        cfg = self.config
        if cfg.restore_best and state.best_weights is not None:
            self.model.load_state_dict(state.best_weights)
        seconds = time.perf_counter() - fit.started
        timed = seconds - (fit.compile_seconds or 0.0)
        return TrainResult(state.history, state.best_epoch, fit.stopped_early, seconds,
                           state.images * self.world / max(timed, 1e-9), cfg.precision,
                           None if fit.compile_seconds is None else round(fit.compile_seconds, 3),
                           {k: round(v, 3) for k, v in self.clock.seconds.items()} if cfg.profile else None)

    # ---- the parts of an epoch ---------------------------------------------------------------------------

    def _step(self, x: torch.Tensor, y: torch.Tensor | None,
              step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One optimiser step of every optimiser."""
        with self.autocast():
            loss, parts = self.step_module(x, step, y)
        missing = [name for name in self.aux_losses if name not in parts]
        if missing:
            raise ValueError(f"the objective's aux_losses name {', '.join(missing)}, which its parts lack "
                             f"(parts: {', '.join(parts)})")
        total = loss + sum(parts[name] for name in self.aux_losses)  # each aux loss reaches only its own network
        self.clock.lap("forward")
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.clock.lap("backward")
            for opt in self.optimizers.values():
                self.scaler.step(opt)
            self.scaler.update()
        else:
            total.backward()
            self.clock.lap("backward")
            for opt in self.optimizers.values():
                opt.step()
        changed = self.model.after_step(step)
        if self.world > 1 and (changed or step.step == 0):  # weights set outside the optimiser, or lazily in the
            self._weights_from_rank0()  # first forward (a VQ codebook from each process's own first batch)
        self.clock.lap("optimiser")
        return loss, parts

    def _read_losses(self, state: TrainState, fit: _Fit) -> None:
        """Move the device's loss sums into ``state.sums`` (one host sync), check them, report them."""
        losses = fit.losses
        if losses.sum is None:
            return
        values = losses.sum.tolist()
        bad = [(k, v) for k, v in zip(losses.names, values) if not math.isfinite(v)]
        if bad:
            what, number = bad[0]
            what = what if what == "loss" or what.endswith("loss") else f"{what} loss"
            raise TrainingError(
                f"{what} became {number / losses.images} in epoch {state.epoch + 1}, {losses.span(state.batch)}; "
                f"nothing was saved. Try a smaller learning rate (now {self.config.lr:g}) or --precision fp32"
            )
        for k, v in zip(losses.names, values):
            state.sums[k] = state.sums.get(k, 0.0) + v
        losses.latest = values[0] / losses.images
        self.events.step_metrics(state.epoch * fit.batches + state.batch,
                                 {k: v / losses.images for k, v in zip(losses.names, values)})
        losses.clear(state.batch)

    def _epoch_record(self, state: TrainState, fit: _Fit) -> dict[str, Any]:
        """The epoch's history record: mean training losses over every process, then validation losses."""
        record: dict[str, Any] = {"epoch": state.epoch + 1}
        sums, seen = self._gather(state.sums, state.seen)
        record.update({f"train_{k}": v / max(seen, 1) for k, v in sums.items()})
        t0 = time.perf_counter()
        record.update({f"val_{k}": v for k, v in self._from_rank0(self._validate(fit.val)).items()})
        bad = [(k, v) for k, v in record.items() if k.startswith("val_") and not math.isfinite(v)]
        if bad:
            raise TrainingError(
                f"validation {bad[0][0][4:].replace('_', ' ')} became {bad[0][1]} in epoch {state.epoch + 1} (the "
                "model in eval mode gives non-finite values on the validation images); nothing was saved. Try a "
                f"smaller learning rate (now {self.config.lr:g}) or --precision fp32, or check the model's eval path")
        if self.config.compile and state.epoch == 0 and fit.compile_seconds is not None:
            fit.compile_seconds += time.perf_counter() - t0  # the first validation compiles the eval graphs
        self.clock.lap("validation")
        record["seconds"] = round(time.perf_counter() - fit.started, 3)
        return record

    def _interrupt(self, state: TrainState, fit: _Fit) -> None:
        """Ctrl-C: a checkpoint of where training stands, then TrainingInterrupted."""
        self._read_losses(state, fit)
        state.seconds = time.perf_counter() - fit.started
        self._checkpoint(state)
        raise TrainingInterrupted(state)

    def _checkpoint(self, state: TrainState) -> None:
        """Hand the callback references to the live weights and optimiser state (it writes them at once)."""
        state.model = self.model.state_dict()
        state.optimizer = {name: opt.state_dict() for name, opt in self.optimizers.items()}
        state.rng_state = torch.get_rng_state()
        state.scaler = self.scaler.state_dict() if self.scaler is not None else None
        try:
            self.on_checkpoint(state)
        finally:
            state.model = state.optimizer = None

    def _validate(self, split: Split) -> dict[str, float]:
        """Mean loss and parts over ``split``, summed on the device and read once."""
        self.model.eval()
        names, total = None, None
        with torch.no_grad(), self.autocast():
            for x, y in split.batches(VAL_BATCH, device=self.device):
                y = self._labels(y)
                loss, parts = self.model.loss(x) if y is None else self.model.loss(x, y=y)
                names = names or ["loss", *parts]
                values = torch.stack([loss.float(), *(v.float() for v in parts.values())]) * len(x)
                total = values if total is None else total + values
        self.model.train()
        if total is None:
            return {}
        return {k: v / len(split) for k, v in zip(names, total.tolist())}

    def _images(self, epoch: int, n: int = 8) -> None:
        """Validation originals above their reconstructions, for trackers that show images."""
        val = self.splits.val
        x = val.floats(n).to(self.device)
        y = self._labels(val.labels[:n]) if val.labels is not None else None
        self.model.eval()
        with torch.no_grad():
            grid = torch.cat([x, self.model.reconstruct(x, y).float()]).cpu()
        self.model.train()
        self.events.images("reconstructions", grid, epoch)

    def _set_lr(self, factor: float) -> None:
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * factor

    # ---- several processes -------------------------------------------------------------------------------

    def close(self) -> None:
        """Drop the DistributedDataParallel wrapper now: its reducer must go before the process group does, or
        gloo can abort the process at exit (after the run was saved). Single-process: nothing to do."""
        if self.world > 1:
            import gc

            self.step_module = _LossOf(self.model)
            gc.collect()

    def _weights_from_rank0(self) -> None:
        """Rank 0's parameters and buffers on every process."""
        with torch.no_grad():
            for t in (*self.model.parameters(), *self.model.buffers()):
                dist.broadcast(t, 0)

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
