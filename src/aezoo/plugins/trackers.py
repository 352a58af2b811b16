"""Trackers: training events sent to the tools people already use (TensorBoard, MLflow), or to a plugin's.

A tracker is a ``TrainingEvents`` (aezoo.core.events) built from a ``--log NAME[:ARG]`` spec by a factory that
a plugin registers with the ``register_trackers`` hook. This module imports neither torch nor any tracker's
package until a tracker is built, so ``zoo list`` stays fast and neither tool is a dependency.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aezoo.core.events import TrainingEvents, dotted
from aezoo.errors import AezooError


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"tensorboard:runs/tb"`` -> ("tensorboard", "runs/tb"); ``"mlflow"`` -> ("mlflow", None)."""
    name, sep, arg = spec.partition(":")
    return name.strip(), (arg if sep and arg else None)


def make_trackers(specs: list[str] | tuple[str, ...]) -> list[Any]:
    """Build the trackers named by ``specs`` (``NAME[:ARG]``); an unknown name lists the registered ones."""
    from aezoo.plugins.manager import catalog

    trackers = []
    for spec in specs:
        name, arg = parse_spec(spec)
        trackers.append(catalog().tracker(name).build(arg))
    return trackers


def _missing(package: str, extra: str) -> AezooError:
    return AezooError(f"the {package} tracker needs the {package!r} package, which is not installed; "
                      f"pip install {extra} (or drop --log {package})")


def tensorboard(arg: str | None = None):
    """``--log tensorboard[:DIR]``: scalars, images and text through torch.utils.tensorboard (DIR default
    ``runs/``, one subfolder per run as TensorBoard expects)."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401  (needs the tensorboard package)
    except ImportError:
        raise _missing("tensorboard", "tensorboard") from None
    return TensorBoardTracker(arg or "runs")


def mlflow(arg: str | None = None):
    """``--log mlflow[:TRACKING_URI]``: parameters, metrics, images and the saved run's folder as MLflow
    artifacts (URI default: MLflow's own, ``$MLFLOW_TRACKING_URI`` or ``./mlruns``)."""
    try:
        import mlflow as _mlflow  # noqa: F401
    except ImportError:
        raise _missing("mlflow", "mlflow-skinny") from None
    return MLflowTracker(arg)


class TensorBoardTracker(TrainingEvents):
    """Writes ``train/*`` every logging interval, ``epoch/*`` per epoch, reconstructions as images, the run's
    settings as text. Each training run gets its own subfolder of ``logdir``."""

    wants_images = True

    def __init__(self, logdir: str):
        self.logdir = Path(logdir)
        self.writer = None

    def train_start(self, info: dict[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(self.logdir / str(info.get("key", "run"))))
        self.writer.add_text("settings", "```\n" + json.dumps(info, indent=2, default=str) + "\n```")

    def step_metrics(self, step: int, metrics: dict[str, float]) -> None:
        for k, v in metrics.items():
            self.writer.add_scalar(f"train/{k}", v, step)

    def epoch_end(self, record: dict[str, Any]) -> None:
        for k, v in record.items():
            if k != "epoch":
                self.writer.add_scalar(f"epoch/{k}", v, record["epoch"])

    def images(self, name: str, images: Any, epoch: int) -> None:
        self.writer.add_images(name, images, epoch)

    def checkpoint(self, epoch: int, path: str) -> None:
        self.writer.add_text("checkpoint", f"epoch {epoch}: {path}", epoch)

    def train_end(self, summary: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.add_text("summary", "```\n" + json.dumps(summary, indent=2, default=str) + "\n```")
            self.writer.close()


class MLflowTracker(TrainingEvents):
    """One MLflow run per training run: settings as parameters, ``train_*`` per logging interval and every
    epoch's record as metrics, reconstructions as images, the saved run's files as artifacts."""

    wants_images = True

    def __init__(self, uri: str | None = None):
        import mlflow

        self.mlflow, self.uri, self.run = mlflow, uri, None

    def train_start(self, info: dict[str, Any]) -> None:
        if self.uri:
            self.mlflow.set_tracking_uri(self.uri)
        self.run = self.mlflow.start_run(run_name=str(info.get("key", "aezoo")))
        params = {k: v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v)
                  for k, v in dotted(info).items()}
        self.mlflow.log_params({k: ("" if v is None else v) for k, v in params.items()})

    def step_metrics(self, step: int, metrics: dict[str, float]) -> None:
        self.mlflow.log_metrics({f"step_{k}": v for k, v in metrics.items()}, step=step)

    def epoch_end(self, record: dict[str, Any]) -> None:
        self.mlflow.log_metrics({k: v for k, v in record.items() if k != "epoch"}, step=record["epoch"])

    def images(self, name: str, images: Any, epoch: int) -> None:
        from torchvision.utils import make_grid

        grid = make_grid(images, nrow=max(1, len(images) // 2)).permute(1, 2, 0).clamp(0, 1).numpy()
        self.mlflow.log_image(grid, key=name, step=epoch) if _has_keyed_images(self.mlflow) else \
            self.mlflow.log_image(grid, f"{name}/epoch-{epoch:04d}.png")

    def checkpoint(self, epoch: int, path: str) -> None:
        self.mlflow.set_tag("checkpoint", path)

    def train_end(self, summary: dict[str, Any]) -> None:
        if self.run is None:
            return
        metrics = {f"run_{k}": v for k, v in summary.items()  # run_val_loss: the best epoch's, kept apart from the curve
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.mlflow.log_metrics(metrics)
        self.mlflow.set_tags({k: str(v) for k, v in summary.items() if k in ("status", "run", "path")})
        if summary.get("path") and Path(summary["path"]).is_dir():
            self.mlflow.log_artifacts(summary["path"], artifact_path="run")
        self.mlflow.end_run("FINISHED" if summary.get("status") == "finished" else "KILLED")


def _has_keyed_images(mlflow: Any) -> bool:
    import inspect

    return "key" in inspect.signature(mlflow.log_image).parameters
