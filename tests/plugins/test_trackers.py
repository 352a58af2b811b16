"""Training events reach progress displays and trackers: the register_trackers hook, TensorBoard, MLflow."""
import io

import pytest
from click.testing import CliRunner

import aezoo
from aezoo.cli import main
from aezoo.core.events import ConsoleProgress, TrainingEvents


class Recorder(TrainingEvents):
    """Keeps every event it receives."""

    wants_images = True
    built: list = []

    def __init__(self, arg=None):
        self.arg, self.events = arg, []
        Recorder.built.append(self)

    def __getattribute__(self, name):
        if name in ("train_start", "epoch_start", "batch", "step_metrics", "epoch_end", "images", "checkpoint",
                    "train_end"):
            return lambda *args: self.events.append((name, args))
        return object.__getattribute__(self, name)


class RecorderPlugin:
    @aezoo.hookimpl
    def register_trackers(self, register):
        register("recorder", Recorder, "Keeps events in memory")


def test_a_plugin_tracker_gets_every_event_of_a_cli_run(aezoo_plugin):
    Recorder.built.clear()
    catalog = aezoo_plugin(RecorderPlugin(), "rec")
    assert catalog.plugins["rec"].ok and catalog.plugins["rec"].trackers == ["recorder"]
    result = CliRunner().invoke(main, ["train", "conv-ae", "--epochs", "2", "--log", "recorder:here"])
    assert result.exit_code == 0, result.output
    (tracker,) = Recorder.built
    assert tracker.arg == "here"
    names = [name for name, _ in tracker.events]
    assert names[0] == "train_start" and names[-1] == "train_end"
    assert names.count("epoch_start") == names.count("epoch_end") == names.count("images") == 2
    assert names.count("batch") == names.count("step_metrics") > 2 and "checkpoint" in names
    start = tracker.events[0][1][0]
    assert start["model"] == "conv-ae" and start["dataset"] == "digits" and start["train"]["epochs"] == 2
    end = tracker.events[-1][1][0]
    assert end["status"] == "finished" and end["run"] == "conv-ae-1" and end["epochs_trained"] == 2
    images = next(args for name, args in tracker.events if name == "images")
    assert images[0] == "reconstructions" and tuple(images[1].shape) == (16, 1, 8, 8) and images[2] == 1


def test_an_unknown_tracker_is_a_one_line_error_naming_the_known_ones():
    result = CliRunner().invoke(main, ["train", "conv-ae", "--epochs", "1", "--log", "tensorbord:x"])
    assert result.exit_code == 1 and "tensorboard" in result.output and "Traceback" not in result.output


def test_the_python_api_shows_progress_and_a_short_summary(capsys):
    aezoo.train("conv-ae", epochs=2)
    err = capsys.readouterr().err
    assert "trained 2 epochs in" in err and "best val_loss" in err
    aezoo.train("conv-ae", epochs=1, progress=False)
    assert capsys.readouterr().err == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_one_bar_and_a_few_summary_lines_not_a_line_per_epoch():
    out, lines = Terminal(), []
    progress = ConsoleProgress(stream=out, echo=lines.append)
    for epoch in range(1, 192):
        progress.epoch_start(epoch, 191, 3)
        for _ in range(3):
            progress.batch(30.0, 64)
        progress.epoch_end({"epoch": epoch, "train_loss": 30.0, "val_loss": 29.0, "seconds": epoch * 0.1})
    progress.train_end({"status": "finished", "epochs_trained": 191, "train_seconds": 19.1, "images_per_second": 6000,
                        "precision": "bf16", "val_loss": 29.0, "best_epoch": 191})
    assert "epoch 191/191" in out.getvalue() and "573/573" in out.getvalue()  # the bar, over the whole run
    assert len(lines) == 2 and lines[0].startswith("trained 191 epochs in 19.1 s (6000 images/s, bf16")


def test_without_a_terminal_epoch_lines_are_few_and_labelled():
    lines = []
    progress = ConsoleProgress(stream=io.StringIO(), echo=lines.append, every=3600)
    for epoch in range(1, 192):
        progress.epoch_start(epoch, 191, 3)
        progress.epoch_end({"epoch": epoch, "train_loss": 30.0, "val_loss": 29.0, "seconds": 1.5})
    assert [line.split()[1] for line in lines] == ["1/191", "191/191"]
    assert "(elapsed 1.5 s)" in lines[0]


def test_tensorboard_tracker_writes_scalars_and_images(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    aezoo.train("conv-ae", epochs=2, progress=False, log=[f"tensorboard:{tmp_path / 'tb'}"])
    (run_dir,) = [p for p in (tmp_path / "tb").iterdir() if p.is_dir()]
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0}).Reload()
    tags = events.Tags()
    assert {"epoch/val_loss", "epoch/train_loss", "train/loss"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("epoch/val_loss")] == [1, 2]
    assert "reconstructions" in tags["images"]


def test_mlflow_tracker_records_params_metrics_and_the_run(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a plain folder store, no database needed
    uri = (tmp_path / "mlruns").as_uri()
    model = aezoo.train("conv-ae", epochs=2, progress=False, log=[f"mlflow:{uri}"])
    client = mlflow.tracking.MlflowClient(uri)
    (experiment,) = [e for e in client.search_experiments()]
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["model"] == "conv-ae"
    assert run.data.params["train.epochs"] == "2" and run.data.tags["run"] == model.run.id
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [1, 2]
    assert "run" in [a.path for a in client.list_artifacts(run.info.run_id)]


def test_a_missing_tracker_package_says_what_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_mlflow(name, *args, **kwargs):
        if name == "mlflow":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mlflow)
    result = CliRunner().invoke(main, ["train", "conv-ae", "--epochs", "1", "--log", "mlflow"])
    assert result.exit_code == 1 and "pip install mlflow-skinny" in result.output
