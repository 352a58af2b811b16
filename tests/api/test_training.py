"""`zoo train` end to end: runs land in the registry, reload bit-exactly, resume exactly, fail safely."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import zoo

import aezoo
from aezoo.api.train import Interrupted, train
from aezoo.core.events import TrainingEvents
from aezoo.core.trainer import TrainConfig
from aezoo.registry import Registry


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_cli_train_lists_and_loads_bit_exactly(zoo_home):
    result = zoo("train", "conv-vae", "--epochs", "1", "--latent-dim", "4", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "saved run conv-vae-1" in result.output
    listed = json.loads(zoo("runs", "--json", catch_exceptions=False).output)
    assert [r["id"] for r in listed] == ["conv-vae-1"] and listed[0]["aliases"] == ["latest"]
    assert listed[0]["config"]["dataset"] == "digits" and listed[0]["config"]["hyperparameters"]["latent_dim"] == 4
    assert "conv-vae-1" in zoo("runs", catch_exceptions=False).output
    model = aezoo.load("conv-vae")
    assert not model.training and model.latent_dim == 4 and model.run.id == "conv-vae-1"
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model.encode(x), aezoo.load("conv-vae:1").encode(x))


def test_trained_model_and_loaded_model_agree_bit_for_bit():
    trained = train("conv-ae", config=TrainConfig(epochs=2))
    loaded = aezoo.load(trained.run.id)
    assert_same_weights(trained, loaded)
    x = torch.rand(7, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(trained.reconstruct(x), loaded.reconstruct(x))
    assert len(trained.run.history) == 2 and {"train_loss", "val_loss"} <= set(trained.run.history[0])


def test_same_seed_gives_identical_weights_and_another_seed_does_not():
    a = train("conv-vae", config=TrainConfig(epochs=2, seed=3))
    b = train("conv-vae", config=TrainConfig(epochs=2, seed=3))
    c = train("conv-vae", config=TrainConfig(epochs=2, seed=4))
    assert_same_weights(a, b)
    assert not torch.equal(a.state_dict()["decoder.fc.weight"], c.state_dict()["decoder.fc.weight"])


class InterruptAfter(TrainingEvents):
    """Sends this process a Ctrl-C (SIGINT) after ``n`` batches, as a user would."""

    def __init__(self, n):
        self.n = n

    def batch(self, loss, images):  # noqa: ARG002
        self.n -= 1
        if self.n == 0:
            os.kill(os.getpid(), signal.SIGINT)


def test_resume_after_ctrl_c_mid_epoch_reaches_the_same_weights():
    config = dict(epochs=3, batch_size=64, seed=1)
    straight = train("conv-vae", config=TrainConfig(**config))
    registry = Registry()
    with pytest.raises(Interrupted, match="zoo train --resume") as stop:
        train("conv-vae", config=TrainConfig(**config), progress=InterruptAfter(30))  # mid epoch 2
    assert [p.name for p in registry.list_checkpoints()] == [stop.value.key]
    assert len(registry.list()) == 1  # the interrupted run is not in the registry
    resumed = train("", resume=stop.value.key)
    assert_same_weights(straight, resumed)
    assert resumed.run.history == [{**h, "seconds": resumed.run.history[i]["seconds"]}
                                   for i, h in enumerate(straight.run.history)]
    assert registry.list_checkpoints() == []


def test_nan_loss_stops_with_epoch_and_batch_and_saves_nothing(zoo_home):
    result = zoo("train", "vae", "--epochs", "3", "--lr", "1e12", "--optimizer", "sgd")
    assert result.exit_code == 1
    assert "epoch 1, batch" in result.output and "nothing was saved" in result.output
    assert "Traceback" not in result.output
    assert Registry().list() == [] and Registry().list_checkpoints() == []


def test_unknown_model_and_bad_options_are_one_line_errors():
    typo = zoo("train", "conv-vea")
    assert typo.exit_code == 1 and "did you mean 'conv-vae'" in typo.output and "Traceback" not in typo.output
    bad_set = zoo("train", "conv-vae", "--set", "latnet_dim=3")
    assert bad_set.exit_code == 2 and "latent_dim" in bad_set.output
    bad_name = zoo("train", "conv-vae", "--name", "../escape")
    assert bad_name.exit_code == 1 and "run name" in bad_name.output
    assert Registry().list() == []
    bad_data = zoo("train", "conv-vae", "--dataset", "digts")
    assert bad_data.exit_code == 1 and "did you mean 'digits'" in bad_data.output


def test_set_and_config_file_reach_the_model(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('model = "conv-ae"\nepochs = 1\nname = "from-file"\n[hyperparameters]\nlatent_dim = 3\n')
    result = zoo("train", "--config", str(cfg), "--set", "channels=8,16", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = Registry().get("from-file")
    assert record.model == "conv-ae" and record.hyperparameters == {
        "latent_dim": 3, "channels": [8, 16], "likelihood": "bernoulli"}
    assert record.config["train"]["epochs"] == 1


def test_runs_show_tag_and_rm():
    train("conv-ae", config=TrainConfig(epochs=1))
    train("conv-ae", config=TrainConfig(epochs=1))
    assert zoo("runs", "tag", "conv-ae:1", "first", catch_exceptions=False).exit_code == 0
    assert json.loads(zoo("runs", "show", "conv-ae:first", catch_exceptions=False).output)["version"] == 1
    assert json.loads(zoo("runs", "show", "conv-ae", catch_exceptions=False).output)["version"] == 2
    assert zoo("runs", "rm", "conv-ae:1", "--yes", catch_exceptions=False).exit_code == 0
    missing = zoo("runs", "show", "conv-ae:first")
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def _zoo_process(*args, home):
    env = {**os.environ, "AEZOO_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "aezoo", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_two_concurrent_trainings_both_land(zoo_home):
    procs = [_zoo_process("train", "conv-ae", "--epochs", "2", "--seed", str(i), home=zoo_home) for i in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    runs = Registry(zoo_home).list()
    assert sorted(r.version for r in runs) == [1, 2]
    for r in runs:
        aezoo.load(r.id)


def test_ctrl_c_in_a_real_process_writes_a_resumable_checkpoint(zoo_home):
    proc = _zoo_process("train", "conv-vae", "--epochs", "200", home=zoo_home)
    deadline = time.time() + 60
    for line in proc.stdout:
        if line.startswith("epoch 1/") or time.time() > deadline:  # training has started
            break
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 1, out
    assert "Resume with: zoo train --resume conv-vae-" in out and "Traceback" not in out
    key = out.split("--resume ")[1].split()[0]
    assert [p.name for p in Registry(zoo_home).list_checkpoints()] == [key]


def test_bf16_mixed_precision_trains_on_cpu():
    conv_dtypes = set()  # what the convolutions computed in, seen by a probe on every module's output

    def probe(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            conv_dtypes.add(output.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(probe)
    try:
        model = train("conv-vae", config=TrainConfig(epochs=2, precision="bf16", device="cpu"))
    finally:
        handle.remove()
    history = model.run.history
    assert torch.bfloat16 in conv_dtypes  # autocast really ran
    assert history[1]["train_loss"] < history[0]["train_loss"]


def test_cosine_schedule_decays_the_learning_rate_to_zero():
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    from aezoo.core.trainer import scheduled_lr

    assert scheduled_lr(1e-3, "cosine", 0, 100) == 1e-3
    assert scheduled_lr(1e-3, "cosine", 50, 100) == pytest.approx(5e-4)
    assert scheduled_lr(1e-3, "cosine", 100, 100) == pytest.approx(0.0)
    assert scheduled_lr(1e-3, "constant", 70, 100) == 1e-3
    used = []  # the learning rate of every optimiser step, as the optimiser saw it

    def record(optimizer, args, kwargs):
        used.append(optimizer.param_groups[0]["lr"])

    handle = register_optimizer_step_pre_hook(record)
    try:
        train("conv-ae", config=TrainConfig(epochs=2, schedule="cosine", lr=2e-3, batch_size=256))
    finally:
        handle.remove()
    assert len(used) > 4 and used == [scheduled_lr(2e-3, "cosine", i, len(used)) for i in range(len(used))]


def test_device_auto_falls_back_to_cpu_and_unavailable_devices_are_refused(monkeypatch):
    from aezoo.core.runtime.device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(aezoo.errors.AezooError, match="CUDA is not available"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"


def test_fp16_on_the_cpu_is_refused_before_training():
    result = zoo("train", "conv-vae", "--precision", "fp16", "--device", "cpu")
    assert result.exit_code == 1 and "use --precision bf16" in result.output
    assert Registry().list() == [] and Registry().list_checkpoints() == []


def test_early_stopping_after_patience_epochs_without_improvement():
    # an SGD step of 1e-30 changes no float32 weight, so validation never improves after epoch 1
    model = train("conv-ae", config=TrainConfig(epochs=10, patience=2, optimizer="sgd", lr=1e-30))
    metrics = model.run.metrics
    assert metrics["stopped_early"] is True and metrics["epochs_trained"] == 3 and metrics["best_epoch"] == 1


def test_python_train_takes_settings_as_keywords():
    model = aezoo.train("conv-ae", epochs=1, batch_size=32, seed=5)
    assert model.run.config["train"]["batch_size"] == 32 and model.run.config["train"]["seed"] == 5
    with pytest.raises(TypeError, match="unknown settings epoch"):
        aezoo.train("conv-ae", epoch=1)


def test_a_taken_run_name_is_refused_before_training():
    train("conv-ae", config=TrainConfig(epochs=1), name="mine")
    result = zoo("train", "conv-ae", "--epochs", "1", "--name", "mine")
    assert result.exit_code == 1 and "already used by conv-ae-1" in result.output
    assert [r.id for r in Registry().list()] == ["conv-ae-1"] and Registry().list_checkpoints() == []
